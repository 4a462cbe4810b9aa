/**
 * The directory where a hop keeps what later runs of the same user share (ssh's masters,
 * the agents kept in containers): `$XDG_RUNTIME_DIR/consfig-KIND`, else
 * `~/.cache/consfig/KIND`. Used only where it is this user's alone (mode 0700): anyone who
 * may reach a socket in it may talk to what listens there.
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidHopError } from '@consfig/core/hop';

export function sharedDir(kind: string, holds: string): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime ? join(runtime, `consfig-${kind}`) : join(homedir(), '.cache', 'consfig', kind);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.();
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new InvalidHopError(kind, `${kind}: ${dir} must belong to this user alone (mode 0700) to hold ${holds}`);
  }
  return dir;
}
