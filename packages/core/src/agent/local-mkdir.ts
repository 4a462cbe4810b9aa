/**
 * `mkdir -p DIR` on this machine made by this process, as file properties ask before
 * writing into a new directory: otherwise the one command that starts the local agent (a
 * shell and mkdir) in a deployment that writes its files itself (local-write.ts).
 */
import { mkdirSync, readFileSync } from 'node:fs';

/** This process's umask, from /proc (Node's own reading of it is deprecated); undefined where not there. */
export function processUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number.parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Make `dir` and its missing parents as GNU mkdir -p would under `umask`, or say it did
 * not (false: nothing of it may be made, or anything is in the way; mkdir then runs, and
 * fails in its own words). mkdir(2) applies this process's umask, which must then be the
 * command's; GNU mkdir makes the parents under the umask less u+wx, the same where the
 * umask takes neither away.
 */
export function mkdirLocally(dir: string, umask: number): boolean {
  if ((umask & 0o300) !== 0 || processUmask() !== umask) return false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    return true;
  } catch {
    return false;
  }
}
