/**
 * NDJSON: one engine event per line on stdout, then a recap line. Every line has `v`
 * (the schema version, docs/json.md) and `type`; the same envelope serves `hosts --json`
 * and errors that end a run before any host (a broken config).
 */
import type { DeployEvent, HostResult } from '@consfig/core';
import { serializeError } from './format-error.js';
import type { Reporter, ReporterOptions } from './types.js';

function plain(value: unknown): unknown {
  if (value instanceof Error && 'code' in value) return serializeError(value as never);
  // Hosts inside hostattrs print as their name (their toJSON), as JSON.stringify would.
  if (value && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return plain((value as { toJSON(): unknown }).toJSON());
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The version of the line schema of docs/json.md: raised when a field changes meaning. */
export const JSON_SCHEMA_VERSION = 1;

/** One NDJSON line: the envelope, then the fields. */
export function jsonLine(type: string, fields: object): string {
  const envelope = { v: JSON_SCHEMA_VERSION, type, time: new Date().toISOString() };
  return `${JSON.stringify({ ...envelope, ...(plain(fields) as object) })}\n`;
}

export class JsonReporter implements Reporter {
  constructor(private readonly options: ReporterOptions) {}

  onEvent(event: DeployEvent): void {
    const { type, ...fields } = event;
    this.options.out.write(jsonLine(type, fields));
  }

  end(results: readonly HostResult[]): void {
    this.options.out.write(jsonLine('recap', { hosts: results }));
  }
}
