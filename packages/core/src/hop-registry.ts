/**
 * Text forms of hops (`local`, `ssh:root@web1`, `sudo`, `chroot:/srv/c1`), so that
 * configs and the CLI can name chains as strings. Packages that provide hops register
 * their kinds here. The table lives on globalThis so that two copies of this module
 * (a config loaded through another loader) still share it.
 */
import type { Hop } from './connection.js';
import { ConsfigError } from './errors.js';
import type { Via } from './host.js';

export type HopParser = (argument: string | undefined) => Hop;

const KEY = Symbol.for('consfig.hop-kinds');
const kinds: Map<string, HopParser> = ((globalThis as Record<symbol, unknown>)[KEY] as
  | Map<string, HopParser>
  | undefined) ?? new Map<string, HopParser>();
(globalThis as Record<symbol, unknown>)[KEY] = kinds;

export class UnknownHopError extends ConsfigError {
  override readonly code = 'CONSFIG_UNKNOWN_HOP';
}

export function registerHopKind(kind: string, parse: HopParser): void {
  kinds.set(kind, parse);
}

export function knownHopKinds(): string[] {
  return ['local', ...kinds.keys()];
}

/** Parse one hop's text form: `KIND` or `KIND:ARGUMENT`. */
export function parseHop(text: string): Hop | undefined {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const argument = colon < 0 ? undefined : text.slice(colon + 1);
  if (kind === 'local') return undefined;
  const parse = kinds.get(kind);
  if (!parse) {
    throw new UnknownHopError(
      `unknown connection hop ${JSON.stringify(text)} (known: ${knownHopKinds().join(', ')}; did you import @consfig/connections?)`,
    );
  }
  return parse(argument);
}

/** Turn a Via into its chain of hops; strings may hold several hops separated by spaces. */
export function resolveVia(via: Via | undefined): Hop[] {
  if (via === undefined) return [];
  const list = typeof via === 'string' ? via.trim().split(/\s+/).filter(Boolean) : Array.isArray(via) ? via : [via];
  const hops: Hop[] = [];
  for (const item of list as (Hop | string)[]) {
    const hop = typeof item === 'string' ? parseHop(item) : item;
    if (hop) hops.push(hop);
  }
  return hops;
}
