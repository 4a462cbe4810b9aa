/**
 * The shape of a consfig file: `export default defineConsfig({ hosts: [...] })`.
 */
import { InvalidHostError } from './errors.js';
import type { DataSource } from './data.js';
import { isHost, type Host } from './host.js';

export interface Consfig {
  hosts: readonly Host[];
  /** Where prerequisite data (secrets) comes from, first match wins. */
  data?: readonly DataSource[];
}

const CONSFIG = Symbol.for('consfig.consfig');

export function defineConsfig(config: Consfig): Consfig {
  if (!config || !Array.isArray(config.hosts)) throw new InvalidHostError('defineConsfig needs { hosts: [...] }');
  const seen = new Set<string>();
  config.hosts.forEach((host, i) => {
    if (!isHost(host)) throw new InvalidHostError(`hosts[${i}] is not a host (make it with defineHost)`);
    if (seen.has(host.name)) throw new InvalidHostError(`host ${host.name} is defined twice`, { host: host.name });
    seen.add(host.name);
  });
  return Object.freeze({ ...config, [CONSFIG]: true });
}

export function isConsfig(value: unknown): value is Consfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CONSFIG] === true;
}
