/** NDJSON: one engine event per line on stdout, then a recap line. */
import type { DeployEvent, HostResult } from '@consfig/core';
import { serializeError } from './format-error.js';
import type { Reporter, ReporterOptions } from './types.js';

function plain(value: unknown): unknown {
  if (value instanceof Error && 'code' in value) return serializeError(value as never);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export class JsonReporter implements Reporter {
  constructor(private readonly options: ReporterOptions) {}

  onEvent(event: DeployEvent): void {
    this.options.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...(plain(event) as object) })}\n`);
  }

  end(results: readonly HostResult[]): void {
    this.options.out.write(`${JSON.stringify({ type: 'recap', hosts: plain(results) })}\n`);
  }
}
