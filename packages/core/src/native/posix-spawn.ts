/**
 * posix_spawn(3) through koffi. Node's child_process forks the whole Node process (libuv
 * uses fork on Linux), which copies its page tables: 6 ms of the main thread at 90 MB, 25
 * ms with 50 chains open on this VM, during which no other chain's output is read. glibc's
 * posix_spawn shares the memory with the child until it has exec'd (clone with CLONE_VM
 * and CLONE_VFORK, run only glibc's async-signal-safe child code, so it is safe in a
 * threaded process, unlike a fork made from JavaScript): ~0.4 ms whatever Node's size.
 */
import { constants } from 'node:os';
import { koffi, libcFunctions } from './koffi.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const WNOHANG = 1;

// Opaque glibc types, given more room than they take (80, 336 and 128 bytes on x86_64).
const FILE_ACTIONS_SIZE = 256;
const ATTR_SIZE = 1024;
const SIGSET_SIZE = 256;

const declarations = {
  socketpair: 'int socketpair(int domain, int type, int protocol, void *sv)',
  pipe2: 'int pipe2(void *fds, int flags)',
  close: 'int close(int fd)',
  faInit: 'int posix_spawn_file_actions_init(void *fa)',
  faDup2: 'int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)',
  faDestroy: 'int posix_spawn_file_actions_destroy(void *fa)',
  attrInit: 'int posix_spawnattr_init(void *attr)',
  attrFlags: 'int posix_spawnattr_setflags(void *attr, short flags)',
  attrSigdefault: 'int posix_spawnattr_setsigdefault(void *attr, void *set)',
  attrSigmask: 'int posix_spawnattr_setsigmask(void *attr, void *set)',
  sigfillset: 'int sigfillset(void *set)',
  sigemptyset: 'int sigemptyset(void *set)',
  spawn:
    'int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)',
  waitpid: 'int waitpid(int pid, _Out_ int *status, int options)',
};

type Libc = NonNullable<ReturnType<typeof libcFunctions<typeof declarations>>>;

let libc: Libc | null | undefined;
let attr: Buffer | undefined;

function bound(): Libc | undefined {
  if (libc === undefined) libc = libcFunctions(declarations) ?? null;
  return libc ?? undefined;
}

/** Whether posix_spawn can be used here (koffi loads, glibc's libc.so.6). */
export function posixSpawnAvailable(): boolean {
  return bound() !== undefined;
}

/**
 * The attributes every spawn shares, as libuv's child sets them up: a session of its own
 * (so that the whole chain can be killed as one group), every signal's default action
 * (Node ignores SIGPIPE, which a child must not inherit) and no signal blocked.
 */
function spawnAttributes(c: Libc): Buffer {
  if (attr) return attr;
  const a = Buffer.alloc(ATTR_SIZE);
  const all = Buffer.alloc(SIGSET_SIZE);
  const none = Buffer.alloc(SIGSET_SIZE);
  c.attrInit(a);
  c.sigfillset(all);
  c.sigemptyset(none);
  c.attrSigdefault(a, all);
  c.attrSigmask(a, none);
  c.attrFlags(a, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  attr = a;
  return a;
}

export interface SpawnedFds {
  pid: number;
  /** The parent's ends of the three socket pairs, non-inheritable. */
  stdin: number;
  stdout: number;
  stderr: number;
}

/** A connected pair of Unix sockets (what libuv gives a child's stdio), both close-on-exec; or errno. */
function socketPair(c: Libc): [number, number] | number {
  const fds = new Int32Array(2);
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0) return koffi()!.errno();
  return [fds[0]!, fds[1]!];
}

/** A pipe, both ends close-on-exec: [read end, write end], or errno (undefined without koffi). */
export function pipe(): [number, number] | number | undefined {
  const c = bound();
  if (!c) return undefined;
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) return koffi()!.errno();
  return [fds[0]!, fds[1]!];
}

/** Close a file descriptor this process holds outside Node's streams. */
export function closeFd(fd: number): void {
  bound()?.close(fd);
}

/**
 * Start `path` (absolute, or relative to the cwd) with argv and envp, its stdio on new
 * socket pairs. Returns the errno posix_spawn gave (e.g. ENOENT) instead of fds when it
 * could not start it.
 */
export function posixSpawn(path: string, argv: readonly string[], envp: readonly string[]): SpawnedFds | number {
  const c = bound();
  if (!c) throw new Error('posix_spawn is not available');
  const pairs: [number, number][] = [];
  for (let i = 0; i < 3; i++) {
    const pair = socketPair(c);
    if (typeof pair === 'number') {
      for (const fds of pairs) for (const fd of fds) c.close(fd);
      return pair; // EMFILE, ENFILE: as Node reports them, an error event
    }
    pairs.push(pair);
  }
  const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
  c.faInit(actions);
  pairs.forEach(([, child], target) => c.faDup2(actions, child, target));
  const pid = [0];
  let errno: number;
  try {
    errno = c.spawn(pid, path, actions, spawnAttributes(c), [...argv, null], [...envp, null]);
  } finally {
    c.faDestroy(actions);
    for (const [, child] of pairs) c.close(child);
  }
  if (errno !== 0) {
    for (const [parent] of pairs) c.close(parent);
    return errno;
  }
  return { pid: pid[0]!, stdin: pairs[0]![0], stdout: pairs[1]![0], stderr: pairs[2]![0] };
}

export type ExitStatus = { code: number; signal: null } | { code: null; signal: number };

/**
 * Reap `pid` if it has ended: its exit code or signal, undefined while it runs, null when
 * it is no child of ours (any more).
 */
export function reap(pid: number): ExitStatus | undefined | null {
  const c = bound()!;
  const status = [0];
  let got = c.waitpid(pid, status, WNOHANG);
  while (got === -1 && koffi()!.errno() === constants.errno.EINTR) got = c.waitpid(pid, status, WNOHANG);
  if (got === 0) return undefined;
  if (got !== pid) return null;
  const s = status[0]!;
  const signal = s & 0x7f;
  return signal === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal };
}
