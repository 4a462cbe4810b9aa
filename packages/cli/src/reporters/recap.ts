/** The final table: one row per host with its counts. */
import type { HostResult } from '@consfig/core';
import type { Style } from './colors.js';
import { formatDuration } from './host-block.js';

export function recapTable(results: readonly HostResult[], s: Style): string[] {
  if (results.length === 0) return [];
  const dry = results.some((r) => r.dryRun);
  const head = ['host', 'status', dry ? 'to change' : 'changed', 'unchanged', 'failed', 'time'];
  const rows = results.map((r) => [
    r.host,
    r.status,
    String(r.changed),
    String(r.unchanged),
    String(r.failed),
    formatDuration(r.durationMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const paint = (r: HostResult, line: string) =>
    r.status === 'ok' ? (r.changed > 0 ? s.yellow(line) : s.green(line)) : s.red(line);
  return [s.bold(fmt(head)), ...rows.map((row, i) => paint(results[i]!, fmt(row)))];
}
