/**
 * Unix stream sockets connected at once, through koffi: in the abstract namespace, which
 * Node 20 cannot reach by name (libuv gives the address its full length), with the uid
 * of the process at the other end (SO_PEERCRED), which Node does not tell: anyone may bind
 * an abstract name, so whose it is decides whether to believe it; and by path, with the
 * errno where nothing listens (net.connect would say it a turn of the event loop later,
 * where a chain is started synchronously).
 */
import { constants } from 'node:os';
import { koffi, libcFunctions } from './koffi.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
// SO_PEERCRED is 17 on Linux but for powerpc (21).
const SO_PEERCRED = process.arch === 'ppc64' ? 21 : 17;

const declarations = {
  socket: 'int socket(int domain, int type, int protocol)',
  connect: 'int connect(int fd, void *addr, uint32_t len)',
  close: 'int close(int fd)',
  getsockopt: 'int getsockopt(int fd, int level, int name, void *val, _Inout_ uint32_t *len)',
};

let calls: { [K in keyof typeof declarations]: (...args: unknown[]) => number } | null | undefined;

function bound() {
  calls ??= libcFunctions(declarations) ?? null;
  return calls;
}

/**
 * A stream socket connected to the abstract name `name` (without its leading NUL) and the
 * uid of its peer; undefined where it cannot be (nothing bound there, no koffi).
 */
export function connectAbstract(name: string): { fd: number; peerUid: number } | undefined {
  const c = bound();
  const bytes = Buffer.from(name, 'utf8');
  if (!c || bytes.length > 106) return undefined;
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  // struct sockaddr_un: the family, then the name after a NUL, its length exactly.
  const addr = Buffer.alloc(3 + bytes.length);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 3);
  const cred = Buffer.alloc(12); // struct ucred: pid, uid, gid
  if (c.connect(fd, addr, addr.length) !== 0 || c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, [12]) !== 0) {
    c.close(fd);
    return undefined;
  }
  return { fd, peerUid: cred.readUInt32LE(4) };
}

/**
 * A stream socket connected to the socket file at `path`: its fd, or the negative errno
 * (-ENOENT: none there, -ECONNREFUSED: nothing listens on it any more); -ENOSYS without
 * koffi, -ENAMETOOLONG for a path longer than sockaddr_un holds.
 */
export function connectPath(path: string): number {
  const c = bound();
  if (!c) return -constants.errno.ENOSYS;
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length > 107 || bytes.includes(0)) return -constants.errno.ENAMETOOLONG;
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -koffi()!.errno();
  const addr = Buffer.alloc(3 + bytes.length); // the family, the path, its NUL
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  if (c.connect(fd, addr, addr.length) !== 0) {
    const errno = koffi()!.errno();
    c.close(fd);
    return -errno;
  }
  return fd;
}
