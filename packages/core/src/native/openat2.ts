/**
 * openat2(2) and readlinkat(2) through koffi: paths opened below a directory as if it were
 * "/" (RESOLVE_IN_ROOT), so that a container's absolute symbolic links, read from outside
 * through /proc/PID/root, stay inside the container as they would for a process in it.
 * Node has neither call.
 */
import { koffi } from './koffi.js';

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const OPEN_HOW_SIZE = 24;
// openat2's number is the same on every architecture (the unified table since 5.6).
const SYS_OPENAT2 = 437;

interface Calls {
  openat2: (nr: number, dirfd: number, path: string, how: Buffer, size: number) => number | bigint;
  readlinkat: (fd: number, path: string, buf: Buffer, size: number) => number | bigint;
}

let calls: Calls | null | undefined;

function bound(): Calls | null {
  if (calls !== undefined) return calls;
  try {
    const lib = koffi()?.load('libc.so.6');
    calls = lib
      ? {
          // syscall(2) with openat2's arguments declared: a variadic call makes koffi parse
          // the argument types on every call (~10 microseconds each); the Linux ABIs pass these alike.
          openat2: lib.func('syscall', 'long', ['long', 'int', 'str', 'void *', 'size_t']),
          readlinkat: lib.func('long readlinkat(int dirfd, const char *path, void *buf, size_t size)'),
        }
      : null;
  } catch {
    calls = null;
  }
  return calls;
}

/** struct open_how, filled for each call (the call is synchronous). */
const how = Buffer.alloc(OPEN_HOW_SIZE);

/** Whether openat2 can be called here (koffi, glibc; the kernel is asked on first use). */
export function openat2Available(): boolean {
  return bound() !== null;
}

/**
 * `path` opened below the directory `root` as if `root` were "/", with `flags` (O_*); a
 * descriptor, or a negative errno (ENOSYS on kernels before 5.6). Magic links (/proc/self)
 * are refused: they would name this process's things, not the target's.
 */
export function openInRoot(root: number, path: string, flags: number, mode = 0): number {
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
  const fd = Number(bound()!.openat2(SYS_OPENAT2, root, path, how, OPEN_HOW_SIZE));
  return fd >= 0 ? fd : -koffi()!.errno();
}

/** The target of the symbolic link open (O_PATH | O_NOFOLLOW) as `fd`. */
export function readLinkFd(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = Number(bound()!.readlinkat(fd, '', buf, buf.length));
  return n > 0 ? buf.subarray(0, n).toString('utf8') : '';
}
