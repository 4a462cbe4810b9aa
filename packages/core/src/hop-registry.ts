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
const kinds: Map<string, HopParser> =
  ((globalThis as Record<symbol, unknown>)[KEY] as Map<string, HopParser> | undefined) ?? new Map<string, HopParser>();
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
      `unknown connection hop ${JSON.stringify(text)} ` +
        `(known: ${knownHopKinds().join(', ')}; did you import @consfig/connections?)`,
    );
  }
  return parse(argument);
}

function isHop(value: unknown): value is Hop {
  const h = value as Hop | null;
  return typeof h === 'object' && h !== null && typeof h.wrap === 'function' && typeof h.describe === 'function';
}

function shown(value: unknown): string {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'}): call it to make the hop`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Whether `via` has a form resolveVia takes; a message saying what is wrong otherwise. */
export function checkVia(via: unknown): string | undefined {
  const list = Array.isArray(via) ? via : [via];
  if (Array.isArray(via) && via.length === 0) return "via is an empty list (write 'local' for this machine)";
  for (const item of list) {
    if (typeof item === 'string') {
      if (item.trim() === '') return "via is empty (write 'local' for this machine)";
    } else if (!isHop(item)) {
      return (
        "via must be a chain such as 'local' or 'ssh:root@web1 sudo', a hop such as ssh('web1'), " +
        `or a list of them, not ${shown(item)}`
      );
    }
  }
  return undefined;
}

/** Turn a Via into its chain of hops; strings may hold several hops separated by spaces. */
export function resolveVia(via: Via): Hop[] {
  const problem = checkVia(via);
  if (problem) throw new ConsfigError(problem);
  const list = typeof via === 'string' ? via.trim().split(/\s+/).filter(Boolean) : Array.isArray(via) ? via : [via];
  const hops: Hop[] = [];
  for (const item of list as (Hop | string)[]) {
    for (const part of typeof item === 'string' ? item.trim().split(/\s+/) : [item]) {
      const hop = typeof part === 'string' ? parseHop(part) : part;
      if (hop) hops.push(hop);
    }
  }
  return hops;
}
