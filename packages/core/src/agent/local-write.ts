/**
 * A write of a local connection, made by Node itself (as local-probe.ts reads): the agent
 * on this machine is this process's user in its namespaces, so the file made here is the
 * one it would make, without a round trip through the agent and its renamer (~1 ms a file
 * here, most of a first deploy's time).
 *
 * Crash-safe: the data goes into an unnamed file in the target's directory (O_TMPFILE),
 * which gets its mode and is then linked in at the target's name where there is no file
 * yet, else linked under a temporary name and renamed over the old one. A controller
 * killed before the link leaves nothing; never a part-written file. (Killed between that
 * link and the rename, one system call apart, it would leave the temp file, complete;
 * the agent, a process of its own, would have removed it.) Where this cannot be done so
 * (no O_TMPFILE on that filesystem, no /proc, no koffi), or the file needs a chown, the
 * agent writes.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import { libcFunctions } from '../native/koffi.js';

/** Bigger writes stream through the agent: a write here blocks the event loop (other hosts). */
export const LOCAL_WRITE_LIMIT = 1 << 20;

/** Where __O_TMPFILE has its generic value (O_TMPFILE is it with O_DIRECTORY). */
const GENERIC_FCNTL = ['x64', 'arm64', 'arm', 'ia32', 'riscv64', 'ppc64', 's390x'];
const O_TMPFILE_BIT = GENERIC_FCNTL.includes(process.arch) ? 0o20000000 : undefined;
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

let linkat: ((...args: unknown[]) => number) | null | undefined;

function boundLinkat(): ((...args: unknown[]) => number) | null {
  linkat ??=
    libcFunctions({
      linkat: 'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
    })?.linkat ?? null;
  return linkat;
}

export interface LocalWrite {
  path: string;
  tmp: string;
  data: Uint8Array;
  /** The file's mode: a number, or undefined to keep a regular file's (else 0644). */
  mode: number | undefined;
  /** Whether the old file's owner is to be kept (the agent's empty owner): checked here. */
  keepOwner: boolean;
  /** The new file's owner where it is not this process's user (a container's root, as root). */
  owner?: { uid: number; gid: number } | undefined;
}

/** What the system says, as strerror would: "ENOSPC: no space left on device, write" → "No space left on device". */
function systemWords(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const words = /^E[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * `unsupported`: nothing was changed, the agent is to write; `overflow` where that is
 * because this process's ids have no name on the filesystem (see native/fs-ids.ts).
 */
export type LocalWriteOutcome =
  | { done: true }
  | { done: false; error: string }
  | { done: false; unsupported: true; overflow?: true };

/** The old file, if it is a regular file (never a link's target): its mode and ids. */
function oldFile(path: string): { mode: number; uid: number; gid: number } | undefined {
  try {
    // No exception for a new file (a first deploy writes thousands).
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Write `w.data` to `w.path` here, or say why not. `unsupported`: nothing was changed, and
 * the agent is to do it.
 */
export function writeLocally(w: LocalWrite): LocalWriteOutcome {
  const link = boundLinkat();
  if (O_TMPFILE_BIT === undefined || !link) return { done: false, unsupported: true };
  const old = w.mode === undefined || w.keepOwner ? oldFile(w.path) : undefined;
  let fd: number;
  try {
    fd = openSync(posix.dirname(w.path), O_TMPFILE_BIT | constants.O_DIRECTORY | constants.O_WRONLY, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A filesystem without O_TMPFILE, or a kernel before 3.11 (which takes it for O_DIRECTORY)
    // (EOVERFLOW: a filesystem a user namespace mounted, where this process's ids have no name)
    if (code === 'EOVERFLOW') return { done: false, unsupported: true, overflow: true };
    if (code === 'EOPNOTSUPP' || code === 'EISDIR' || code === 'EINVAL') return { done: false, unsupported: true };
    return { done: false, error: systemWords(error) };
  }
  let linked = false;
  try {
    if (w.owner) {
      try {
        fchownSync(fd, w.owner.uid, w.owner.gid);
      } catch {
        return { done: false, unsupported: true };
      }
    }
    // An owner to keep that is not the one a new file gets here needs a chown: the agent's.
    if (old && w.keepOwner) {
      const st = fstatSync(fd);
      if (old.uid !== st.uid || old.gid !== st.gid) return { done: false, unsupported: true };
    }
    for (let at = 0; at < w.data.length; ) at += writeSync(fd, w.data, at, w.data.length - at);
    fchmodSync(fd, w.mode ?? old?.mode ?? 0o644);
    const unnamed = `/proc/self/fd/${fd}`;
    // A new file is linked in at its name: no moment with a temp file. linkat never
    // replaces, so an old one is replaced by a rename from a temp name.
    if (link(AT_FDCWD, unnamed, AT_FDCWD, w.path, AT_SYMLINK_FOLLOW) === 0) return { done: true };
    if (link(AT_FDCWD, unnamed, AT_FDCWD, w.tmp, AT_SYMLINK_FOLLOW) !== 0) return { done: false, unsupported: true };
    linked = true;
    renameSync(w.tmp, w.path);
    return { done: true };
  } catch (error) {
    if (linked) {
      try {
        unlinkSync(w.tmp);
      } catch {
        // gone already
      }
    }
    return { done: false, error: systemWords(error) };
  } finally {
    closeSync(fd);
  }
}
