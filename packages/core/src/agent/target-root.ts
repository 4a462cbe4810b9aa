/**
 * A container's files read by this process, as root, through its init's root
 * (/proc/PID/root): the deployment lock and the probes of a deployment that changes
 * nothing need no process in the container then (each costs ~20 ms of CPU here, most of it
 * page faults), and its agent starts only for a command. Its files are written here too
 * (`mkdir -p` and files, as local-write.ts writes), given to its root (files before they
 * appear, directories right after).
 * A chroot's tree is read and written the same way: its ids are this machine's; paths its
 * chain mounts over (its /proc, /run...) are left to the chain. What is read is what
 * the agent would see as the container's root: paths resolved inside the container
 * (openat2's RESOLVE_IN_ROOT: its absolute links stay in it), through its mounts (its
 * /run), ids as its user namespace maps them, names from its own /etc/passwd and
 * /etc/group. Used only where that is so: the container's user and group names come from
 * files (nsswitch), its agent would have flock(1), and its root is root there (a user
 * namespace that denies setgroups keeps the entering user's credentials instead).
 */
import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  lchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmdirSync,
  type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import type { FileInfo, TargetTree } from '../connection.js';
import { ConsfigError } from '../errors.js';
import { withFsIds } from '../native/fs-ids.js';
import {
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat2Available,
  openInRoot,
  readLinkFd,
} from '../native/openat2.js';
import { LocalLock, type LockFiles } from './local-lock.js';
import { typeOf } from './local-probe.js';
import { processUmask } from './local-mkdir.js';
import { writeLocally, type LocalWrite, type LocalWriteOutcome } from './local-write.js';
import { inside, outsideOf, parseIdMap, type IdRange } from './id-map.js';

const EEXIST = 17;
const EOVERFLOW = 75;
/** The PATH the entering helper gives the agent where the init sets none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** What an id with no mapping shows as inside (the kernel's overflow id). */
const OVERFLOW_ID = 65534;
/** Paths whose meaning depends on who reads them (their own /proc/self): the agent's. */
const PER_PROCESS = /^\/(proc|sys|dev)(\/|$)/;

/** The last files' names: containers made from one image share them (50 of them: 100 parses). */
const namesOfText = new Map<string, Map<number, string>>();

/** Id to name from a passwd or group file: the first line with the id wins, as files' NSS does. */
function namesFrom(text: string): Map<number, string> {
  const known = namesOfText.get(text);
  if (known) return known;
  const names = new Map<number, string>();
  if (namesOfText.size >= 8) namesOfText.delete(namesOfText.keys().next().value!);
  namesOfText.set(text, names);
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (f[0] && Number.isInteger(id) && !names.has(id)) names.set(id, f[0]);
  }
  return names;
}

/**
 * The content of the regular file open (O_PATH) as `fd`, `size` bytes when it was stat'ed:
 * opened again for reading through its descriptor, that very file without a second walk of
 * its path; read at once where it has not grown since.
 */
function readOpened(fd: number, size: number): Buffer | undefined {
  let readable: number;
  try {
    readable = openSync(`/proc/self/fd/${fd}`, O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    const data = Buffer.allocUnsafe(size + 1);
    const got = readSync(readable, data, 0, size + 1, 0);
    return got <= size ? data.subarray(0, got) : readFileSync(readable);
  } finally {
    closeSync(readable);
  }
}

export class TargetRoot {
  private users: Map<number, string> | undefined;
  private groups: Map<number, string> | undefined;
  /** The lock made here; null where the agent must take it. */
  private lockTaken: LocalLock | null | undefined;
  private closed = false;

  private constructor(
    private readonly fd: number,
    private readonly uids: IdRange[],
    private readonly gids: IdRange[],
    private readonly env: NodeJS.ProcessEnv,
    /** A tree's: its real path here, what the chain mounts over (as paths here), its /run/lock. */
    private readonly tree?: { hidden: string[]; runLock: string },
  ) {}

  /** A chroot's tree, where this process is root of this machine (its ids are the tree's). */
  static ofTree(tree: TargetTree): TargetRoot | undefined {
    if (process.getuid?.() !== 0 || !openat2Available()) return undefined;
    try {
      if (parseIdMap(readFileSync('/proc/self/uid_map', 'utf8')).some((r) => r.inside !== r.outside)) return undefined;
    } catch {
      return undefined;
    }
    let fd: number;
    try {
      fd = openSync(tree.dir, O_PATH | O_DIRECTORY);
    } catch {
      return undefined;
    }
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    const ids = [{ inside: 0, outside: 0, count: 4294967295 }];
    const hidden = tree.mountedOver.map((m) => posix.join(real, m));
    return new TargetRoot(fd, ids, ids, { ...tree.env }, { hidden, runLock: tree.runLock }).usable();
  }

  /** The root of `pid` (a container's init), where this process may read it as described above. */
  static open(pid: number): TargetRoot | undefined {
    if (process.getuid?.() !== 0 || !openat2Available()) return undefined;
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY);
    } catch {
      return undefined;
    }
    const root = TargetRoot.read(fd, pid);
    if (root) return root.usable();
    closeSync(fd);
    return undefined;
  }

  private static read(fd: number, pid: number): TargetRoot | undefined {
    let env: NodeJS.ProcessEnv;
    let uids: IdRange[];
    let gids: IdRange[];
    try {
      if (readFileSync(`/proc/${pid}/setgroups`, 'utf8').includes('deny')) return undefined;
      uids = parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'utf8'));
      gids = parseIdMap(readFileSync(`/proc/${pid}/gid_map`, 'utf8'));
      env = { PATH: DEFAULT_PATH };
      for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    } catch {
      return undefined;
    }
    return new TargetRoot(fd, uids, gids, env);
  }

  /** This, where it reads what the agent would (see the top); else closed, and undefined. */
  private usable(): TargetRoot | undefined {
    // The kernel must know openat2 (5.6): asked once, with the root itself.
    const self = openInRoot(this.fd, '/', O_PATH);
    if (self >= 0) closeSync(self);
    if (self >= 0 && this.namesFromFiles() && this.agentHasFlock()) return this;
    this.close();
    return undefined;
  }

  /** Whether the container's NSS takes user and group names from files only (or no nsswitch.conf). */
  private namesFromFiles(): boolean {
    const conf = this.readText('/etc/nsswitch.conf');
    if (conf === undefined) return true;
    for (const db of ['passwd', 'group']) {
      const line = new RegExp(`^${db}:(.*)$`, 'm').exec(conf);
      const sources = (line?.[1] ?? 'files')
        .replace(/\[[^\]]*\]/g, ' ')
        .trim()
        .split(/\s+/);
      // systemd's module adds only its dynamic users and root and nobody, named as files name them.
      if (sources.some((s) => s !== 'files' && s !== 'systemd')) return false;
    }
    return true;
  }

  /** The front takes the lock with flock(2) where flock(1) is in the agent's PATH; else its shell locks. */
  private agentHasFlock(): boolean {
    return (this.env.PATH ?? '').split(':').some((dir) => {
      if (dir === '') return false;
      const st = this.statIn(`${dir}/flock`, O_PATH);
      return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0;
    });
  }

  private statIn(path: string, flags: number): Stats | undefined {
    const fd = openInRoot(this.fd, path, flags);
    if (fd < 0) return undefined;
    try {
      return fstatSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private readText(path: string): string | undefined {
    const fd = openInRoot(this.fd, path, O_RDONLY);
    if (fd < 0) return undefined;
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  }

  /** Whether the container's root may do as it likes with a file of these ids (its capabilities apply). */
  private ownedInside(st: Stats): boolean {
    return inside(this.uids, st.uid) !== undefined && inside(this.gids, st.gid) !== undefined;
  }

  /** Whether this can answer a probe of `paths` as the agent would (not /proc, /sys, /dev). */
  answers(paths: Iterable<string>): boolean {
    for (const p of paths) if (PER_PROCESS.test(p)) return false;
    return true;
  }

  /**
   * Whether `path` is, or would be made, below what the chain mounts over (through links
   * too, such as /var/run): the directory here then is not what the agent sees.
   */
  private hidden(path: string, followLast = false): boolean {
    if (!this.tree) return false;
    // The path (its last link not followed), else its nearest parent that is there.
    for (let p = path, last = !followLast; ; p = posix.dirname(p), last = false) {
      const fd = openInRoot(this.fd, p, O_PATH | (last ? O_NOFOLLOW : 0));
      if (fd >= 0) {
        try {
          return this.hiddenFd(fd);
        } finally {
          closeSync(fd);
        }
      }
      if (p === '/') return false;
    }
  }

  /** Whether what `fd` has open is below what the chain mounts over. */
  private hiddenFd(fd: number): boolean {
    if (!this.tree) return false;
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    return this.tree.hidden.some((h) => real === h || real.startsWith(`${h}/`));
  }

  /** The probe's answers, as the agent's (see local-probe.ts), or undefined where the agent must answer. */
  probe(queries: ReadonlyMap<string, boolean>): Map<string, FileInfo> | undefined {
    // A container that has stopped since: its root is gone, not its files.
    const self = openInRoot(this.fd, '/', O_PATH);
    if (self < 0) throw new ConsfigError(`the container has stopped (its root cannot be read: errno ${-self})`);
    closeSync(self);
    // Read again for each probe, as NSS reads its files for each lookup: a deployment
    // makes users (the agent, asked a name, would find the new one).
    this.users = undefined;
    this.groups = undefined;
    const result = new Map<string, FileInfo>();
    for (const [path, content] of queries) {
      const info = this.probeOne(path, content);
      if (!info) return undefined;
      result.set(path, info);
    }
    return result;
  }

  /** What the agent would answer, or undefined where the chain mounts over the path. */
  private probeOne(path: string, content: boolean): FileInfo | undefined {
    const fd = openInRoot(this.fd, path, O_PATH | O_NOFOLLOW);
    if (fd < 0) return this.hidden(posix.dirname(path), true) ? undefined : { path, exists: false };
    try {
      if (this.hiddenFd(fd)) return undefined;
      const st = fstatSync(fd);
      const type = typeOf(st);
      const uid = inside(this.uids, st.uid) ?? OVERFLOW_ID;
      const gid = inside(this.gids, st.gid) ?? OVERFLOW_ID;
      this.users ??= namesFrom(this.readText('/etc/passwd') ?? '');
      this.groups ??= namesFrom(this.readText('/etc/group') ?? '');
      const info: FileInfo = {
        path,
        exists: true,
        type,
        mode: st.mode & 0o7777,
        uid,
        gid,
        user: this.users.get(uid) ?? String(uid),
        group: this.groups.get(gid) ?? String(gid),
        size: st.size,
      };
      if (type === 'symlink') info.target = readLinkFd(fd);
      // Readable by the container's root: its own files, or anyone's others may read.
      if (content && type === 'file' && (this.ownedInside(st) || (st.mode & 0o004) !== 0)) {
        const data = readOpened(fd, st.size);
        if (data) {
          info.content = data;
          info.size = data.length;
        }
      }
      return info;
    } finally {
      closeSync(fd);
    }
  }

  /** The deployment lock on the target's lock file, as its agent's front takes it (uid 0 there). */
  lock(): LocalLock | undefined {
    const files = this.tree ? this.treeLockFiles(this.tree.runLock) : this.containerLockFiles();
    if (this.lockTaken === undefined) {
      const lock = LocalLock.on(files);
      // Where the lock file cannot be opened from out here, the container's agent opens it.
      this.lockTaken = lock && lock.prepare() === undefined ? lock : null;
    }
    return this.lockTaken ?? undefined;
  }

  /** A container's lock files, in it. */
  private containerLockFiles(): LockFiles {
    return {
      env: this.env,
      uid: 0,
      writableDir: (dir) => {
        const st = this.statIn(dir, O_PATH | O_DIRECTORY);
        return st !== undefined && this.mayWriteIn(st);
      },
      open: (path) => {
        const create = () => openInRoot(this.fd, path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
        let made = create();
        if (made >= 0) {
          // Made by root out here: given to the container's root, as the agent would have made it.
          fchownSync(made, outsideOf(this.uids, 0) ?? 0, outsideOf(this.gids, 0) ?? 0);
          return made;
        }
        // A filesystem the container's user namespace mounted (an overlay snapshot's): made as its root.
        const writer = this.writer;
        if (made === -EOVERFLOW && writer) made = withFsIds(writer, create)?.value ?? made;
        if (made >= 0) return made;
        const fd = made === -EEXIST ? openInRoot(this.fd, path, O_WRONLY) : made;
        if (fd < 0) throw new Error(`cannot open ${path} in the container (errno ${-fd})`);
        return fd;
      },
      read: (path) => this.readText(path) ?? '',
    };
  }

  /** A tree's lock files: in the directory here that the chain mounts on its /run/lock (made by its helper). */
  private treeLockFiles(runLock: string): LockFiles {
    const here = (path: string) => {
      if (posix.dirname(path) !== '/run/lock') throw new Error(`${path}: not in the tree's /run/lock`);
      return posix.join(runLock, posix.basename(path));
    };
    return {
      env: this.env,
      uid: 0,
      writableDir: (dir) => dir === '/run/lock',
      open: (path) => openSync(here(path), constants.O_WRONLY | constants.O_CREAT, 0o600),
      read: (path) => readFileSync(here(path), 'utf8'),
    };
  }

  /**
   * Whether what the chain's commands mount is seen here: a container's, whose root is
   * read in its own mount namespace; not a tree's, whose chain has a namespace of its own.
   */
  get seesChainMounts(): boolean {
    return this.tree === undefined;
  }

  /**
   * Who the agent is out here (its root's ids), where this writes files and makes
   * directories: a tree's root (this machine's ids), a container's root where it has one.
   */
  private get writer(): { uid: number; gid: number } | undefined {
    if (this.tree) return { uid: 0, gid: 0 };
    const uid = outsideOf(this.uids, 0);
    const gid = outsideOf(this.gids, 0);
    return uid === undefined || gid === undefined ? undefined : { uid, gid };
  }

  /** Whether this writes files and makes directories (see writer). */
  get writes(): boolean {
    return this.writer !== undefined;
  }

  /**
   * The directory `dir` inside, opened (O_PATH) where it is there and not mounted over, as
   * a path here that names it whatever links lead to it (/proc/self/fd/N); undefined else.
   */
  private openDir(dir: string): { fd: number; here: string } | undefined {
    if (this.hidden(dir, true)) return undefined;
    const fd = openInRoot(this.fd, dir, O_PATH | O_DIRECTORY);
    if (fd < 0) return undefined;
    // Root out here may write where the container's root may not (a directory of an id its
    // user namespace does not map): there the agent is to try, and fail in its own words.
    if (!this.mayWriteIn(fstatSync(fd))) {
      closeSync(fd);
      return undefined;
    }
    return { fd, here: `/proc/self/fd/${fd}` };
  }

  /** Whether the target's root may make and remove names in this directory (a tree's: always). */
  private mayWriteIn(st: Stats): boolean {
    return this.ownedInside(st) || (st.mode & 0o002) !== 0;
  }

  /** A file written as local-write.ts writes, in its directory inside; `unsupported` where the agent is to. */
  write(w: LocalWrite): LocalWriteOutcome {
    const writer = this.writer;
    // (a file the chain mounts over, resolv.conf, is the chain's to write: there it is another)
    const ours = writer !== undefined && this.answers([w.path]) && !this.hidden(w.path);
    const dir = ours ? this.openDir(posix.dirname(w.path)) : undefined;
    if (!dir || !writer) return { done: false, unsupported: true };
    try {
      const inside: LocalWrite = {
        ...w,
        path: posix.join(dir.here, posix.basename(w.path)),
        tmp: posix.join(dir.here, posix.basename(w.tmp)),
        // A container's: made by root out here, given to the container's root before it is linked in.
        owner: this.tree ? undefined : writer,
      };
      const made = writeLocally(inside);
      if (this.tree || !('overflow' in made)) return made;
      // A filesystem the container's user namespace mounted (an overlay snapshot): made as
      // its root; anything refused so is its agent's to try.
      const again = withFsIds(writer, () => writeLocally({ ...inside, owner: undefined }))?.value;
      return again?.done ? again : { done: false, unsupported: true };
    } finally {
      closeSync(dir.fd);
    }
  }

  /**
   * `mkdir -p DIR` inside, as local-mkdir.ts makes it here; false where the agent is to
   * (something in the way, a path mounted over, a directory it may not write, another umask).
   */
  mkdirs(dir: string, umask: number): boolean {
    const writer = this.writer;
    if (!writer || (umask & 0o300) !== 0 || processUmask() !== umask) return false;
    if (!this.answers([dir]) || this.hidden(dir, true)) return false;
    const parts = dir.split('/').filter(Boolean);
    const top = openInRoot(this.fd, '/', O_PATH | O_DIRECTORY);
    if (top < 0) return false;
    let parent = { fd: top, here: `/proc/self/fd/${top}` };
    try {
      for (const [i, name] of parts.entries()) {
        if (name === '..' || name === '.') return false;
        const path = `/${parts.slice(0, i + 1).join('/')}`;
        let fd = openInRoot(this.fd, path, O_PATH | O_DIRECTORY);
        if (fd < 0) {
          if (!this.mayWriteIn(fstatSync(parent.fd))) return false;
          const made = posix.join(parent.here, name);
          try {
            mkdirSync(made, { mode: 0o777 });
          } catch (error) {
            // (EOVERFLOW: a filesystem the container's user namespace mounted; made as its root)
            const overflow = !this.tree && (error as NodeJS.ErrnoException).code === 'EOVERFLOW';
            if (!overflow || !this.mkdirAs(writer, made)) return false;
          }
          if (!this.tree) {
            // A container's root's, as its agent would have made it (lchown: never through a
            // link someone put there since, which would resolve out here).
            try {
              lchownSync(made, writer.uid, writer.gid);
            } catch {
              try {
                rmdirSync(made);
              } catch {
                // taken meanwhile: the agent's mkdir -p then finds what is there
              }
              return false;
            }
          }
          fd = openInRoot(this.fd, path, O_PATH | O_DIRECTORY);
          if (fd < 0) return false;
        }
        closeSync(parent.fd);
        parent = { fd, here: `/proc/self/fd/${fd}` };
      }
      return true;
    } finally {
      closeSync(parent.fd);
    }
  }

  /** mkdir as `ids` (native/fs-ids.ts): whether it was made. */
  private mkdirAs(ids: { uid: number; gid: number }, path: string): boolean {
    try {
      return withFsIds(ids, () => mkdirSync(path, { mode: 0o777 })) !== undefined;
    } catch {
      return false;
    }
  }

  close(): void {
    this.lockTaken?.release();
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
