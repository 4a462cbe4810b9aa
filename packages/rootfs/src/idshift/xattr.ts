/**
 * Extended attributes through koffi: Node has no xattr API, and these calls are safe
 * in-process (unlike setns). The l* forms never follow symlinks.
 */
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const llistxattr = libc.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)');
const lgetxattr = libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const lsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)');
const lremovexattr = libc.func('int lremovexattr(const char *path, const char *name)');
const strerror = libc.func('const char *strerror(int errnum)');

const ENODATA = 61;
const ERANGE = 34;
const ENOTSUP = 95;

export class XattrError extends Error {
  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
  ) {
    super(`${op} ${path}: ${strerror(errno) as string}`);
  }
}

let scratch = Buffer.alloc(4096);

/** Names of a path's extended attributes (empty where the filesystem has none). */
export function listXattrs(path: string): string[] {
  for (;;) {
    const n = Number(llistxattr(path, scratch, scratch.length));
    if (n >= 0) return n === 0 ? [] : scratch.subarray(0, n - 1).toString('utf8').split('\0');
    const errno = koffi.errno();
    if (errno === ENOTSUP) return [];
    if (errno !== ERANGE) throw new XattrError('llistxattr', path, errno);
    scratch = Buffer.alloc(scratch.length * 4);
  }
}

export function getXattr(path: string, name: string): Buffer | undefined {
  for (;;) {
    const n = Number(lgetxattr(path, name, scratch, scratch.length));
    if (n >= 0) return Buffer.from(scratch.subarray(0, n));
    const errno = koffi.errno();
    if (errno === ENODATA || errno === ENOTSUP) return undefined;
    if (errno !== ERANGE) throw new XattrError('lgetxattr', path, errno);
    scratch = Buffer.alloc(scratch.length * 4);
  }
}

export function setXattr(path: string, name: string, value: Buffer): void {
  if (lsetxattr(path, name, value, value.length, 0) !== 0) throw new XattrError(`lsetxattr ${name}`, path, koffi.errno());
}

export function removeXattr(path: string, name: string): void {
  if (lremovexattr(path, name) !== 0) {
    const errno = koffi.errno();
    if (errno !== ENODATA) throw new XattrError(`lremovexattr ${name}`, path, errno);
  }
}
