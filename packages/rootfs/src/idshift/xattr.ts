/**
 * Extended attributes through koffi: Node has no xattr API, and these calls are safe
 * in-process (unlike setns). The l* forms never follow symlinks.
 */
import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');

interface Libc {
  koffi: Koffi;
  llistxattr(path: string, list: Buffer, size: number): number | bigint;
  lgetxattr(path: string, name: string, value: Buffer, size: number): number | bigint;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lremovexattr(path: string, name: string): number;
  strerror(errnum: number): string;
}

let bound: Libc | undefined;

/** Loaded on first use: most deployments never touch xattrs, and koffi costs start-up time. */
function libc(): Libc {
  if (bound) return bound;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  bound = {
    koffi,
    llistxattr: lib.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
    lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
    lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return bound;
}

const ENODATA = 61;
const ERANGE = 34;
const ENOTSUP = 95;

export class XattrError extends Error {
  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
  ) {
    super(`${op} ${path}: ${libc().strerror(errno)}`);
  }
}

let scratch = Buffer.alloc(4096);

/** Names of a path's extended attributes (empty where the filesystem has none). */
export function listXattrs(path: string): string[] {
  for (;;) {
    const c = libc();
    const n = Number(c.llistxattr(path, scratch, scratch.length));
    if (n >= 0) return n === 0 ? [] : scratch.subarray(0, n - 1).toString('utf8').split('\0');
    const errno = c.koffi.errno();
    if (errno === ENOTSUP) return [];
    if (errno !== ERANGE) throw new XattrError('llistxattr', path, errno);
    scratch = Buffer.alloc(scratch.length * 4);
  }
}

export function getXattr(path: string, name: string): Buffer | undefined {
  for (;;) {
    const c = libc();
    const n = Number(c.lgetxattr(path, name, scratch, scratch.length));
    if (n >= 0) return Buffer.from(scratch.subarray(0, n));
    const errno = c.koffi.errno();
    if (errno === ENODATA || errno === ENOTSUP) return undefined;
    if (errno !== ERANGE) throw new XattrError('lgetxattr', path, errno);
    scratch = Buffer.alloc(scratch.length * 4);
  }
}

export function setXattr(path: string, name: string, value: Buffer): void {
  const c = libc();
  if (c.lsetxattr(path, name, value, value.length, 0) !== 0) throw new XattrError(`lsetxattr ${name}`, path, c.koffi.errno());
}

export function removeXattr(path: string, name: string): void {
  const c = libc();
  if (c.lremovexattr(path, name) !== 0) {
    const errno = c.koffi.errno();
    if (errno !== ENODATA) throw new XattrError(`lremovexattr ${name}`, path, errno);
  }
}
