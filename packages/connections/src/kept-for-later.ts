/**
 * What hops keep for later runs of the same user (ssh's masters, the agents kept in
 * containers): where, and for how long the environment says.
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidHopError } from '@consfig/core/hop';

/**
 * `$XDG_RUNTIME_DIR/consfig-KIND`, else `~/.cache/consfig/KIND`. Used only where it is this
 * user's alone (mode 0700): anyone who may reach a socket in it may talk to what listens there.
 */
export function sharedDir(kind: string, holds: string): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime ? join(runtime, `consfig-${kind}`) : join(homedir(), '.cache', 'consfig', kind);
  let st;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = statSync(dir);
  } catch (error) {
    throw new InvalidHopError(kind, `${kind}: cannot make ${dir} to hold ${holds}: ${(error as Error).message}`);
  }
  const uid = process.getuid?.();
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new InvalidHopError(kind, `${kind}: ${dir} must belong to this user alone (mode 0700) to hold ${holds}`);
  }
  return dir;
}

/**
 * `value` where it is a whole number of seconds (or undefined), else an InvalidHopError
 * naming the hop and the setting: `KIND: WHAT must be a whole number of seconds, not …`.
 */
export function keptSeconds(kind: string, what: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new InvalidHopError(kind, `${kind}: ${what} must be a whole number of seconds, not ${value}`);
  }
  return value;
}

/** Seconds from the environment's `variable` (CONSFIG_SSH_PERSIST…), undefined where unset or empty. */
export function persistFromEnv(variable: string, kind: string): number | undefined {
  const text = process.env[variable];
  if (text === undefined || text === '') return undefined;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new InvalidHopError(kind, `${variable} must be a whole number of seconds, not ${JSON.stringify(text)}`);
  }
  return seconds;
}
