/** Host selection by glob (minimatch): no patterns means every host. */
import type { Host } from '@consfig/core';
import { createRequire } from 'node:module';
import { UsageError } from './args.js';

export function selectHosts(hosts: readonly Host[], patterns: readonly string[]): Host[] {
  if (patterns.length === 0) return [...hosts];
  const { minimatch } = createRequire(import.meta.url)('minimatch') as typeof import('minimatch');
  const chosen = new Set<Host>();
  for (const pattern of patterns) {
    const matched = hosts.filter((h) => minimatch(h.name, pattern, { nocase: true }));
    if (matched.length === 0) {
      const names = hosts.map((h) => h.name).join(', ') || '(none)';
      throw new UsageError(`no host matches ${JSON.stringify(pattern)} (hosts: ${names})`);
    }
    for (const h of matched) chosen.add(h);
  }
  return hosts.filter((h) => chosen.has(h));
}
