/**
 * The deployment lock taken by this process: flock(2) on the very file the agent would lock
 * with flock(1) (same directories, same name by uid, 0600, the holder's line written in
 * it), so deployments by the agent and by this process exclude each other. On this machine
 * (a local connection) the files are this machine's; in a container entered as root they are
 * the container's, reached through its root (target-root.ts). Where flock(1) is missing the
 * agents lock with a directory instead, and so this is not used. Released when closed, or by
 * the kernel when this process dies, as the agent's goes with the agent.
 */
import { accessSync, closeSync, constants, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { libcFunctions } from '../native/koffi.js';
import { findExecutable } from './spawn-chain.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const POLL_MS = 100;

let flock: ((fd: number, operation: number) => number) | null | undefined;

function bound(): ((fd: number, operation: number) => number) | null {
  flock ??= libcFunctions({ flock: 'int flock(int fd, int operation)' })?.flock ?? null;
  return flock;
}

export type LockAnswer = { taken: true } | { taken: false; holder: string } | { error: string };

/** The files a lock works on: this machine's, or a target's seen from here. */
export interface LockFiles {
  /** The agent's environment there (CONSFIG_LOCK_DIR, TMPDIR). */
  readonly env: NodeJS.ProcessEnv;
  /** The uid the agent runs as there (the file's name). */
  readonly uid: number;
  /** Whether `dir` is a directory the agent may write in. */
  writableDir(dir: string): boolean;
  /** The lock file opened for writing (never truncated by that), made 0600 (and the agent's) where it was not there. */
  open(path: string): number;
  read(path: string): string;
}

/** This machine's files, as this process's user. */
const hostFiles = (env: NodeJS.ProcessEnv): LockFiles => ({
  env,
  uid: process.getuid!(),
  writableDir(dir) {
    try {
      if (!statSync(dir).isDirectory()) return false;
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  open: (path) => openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600),
  read: (path) => readFileSync(path, 'utf8'),
});

/**
 * The holder's line, over the old one: written at the start, then cut to its length. Not
 * truncated first: ext4 flushes a file truncated to nothing when it is closed (~0.1 ms
 * here, each deployment).
 */
function writeHolder(fd: number, holder: string): void {
  const line = Buffer.from(`${holder}\n`, 'utf8');
  writeSync(fd, line, 0, line.length, 0);
  ftruncateSync(fd, line.length);
}

export class LocalLock {
  private fd: number | undefined;
  private path: string | undefined;

  private constructor(private readonly files: LockFiles) {}

  /** A local lock for `env`'s agent, or undefined where the agent's own must be used. */
  static for(env: NodeJS.ProcessEnv): LocalLock | undefined {
    return bound() && findExecutable('flock', env) ? new LocalLock(hostFiles(env)) : undefined;
  }

  /** A lock on `files` (a target's, whose agent has flock(1)), or undefined without flock(2) here. */
  static on(files: LockFiles): LocalLock | undefined {
    return bound() ? new LocalLock(files) : undefined;
  }

  /** The agent's choice: the first writable directory of these. */
  private file(): string | undefined {
    const { env, uid } = this.files;
    const dirs = [env.CONSFIG_LOCK_DIR || '/run/lock', '/run/lock', '/var/lock', env.TMPDIR || '/tmp'];
    const dir = dirs.find((d) => this.files.writableDir(d));
    return dir === undefined ? undefined : `${dir}/${uid === 0 ? 'consfig.lock' : `consfig-${uid}.lock`}`;
  }

  private attempt(holder: string, path: string): LockAnswer {
    if (bound()!(this.fd!, LOCK_EX | LOCK_NB) === 0) {
      writeHolder(this.fd!, holder);
      return { taken: true };
    }
    let text = '';
    try {
      text = this.files.read(path).trim();
    } catch {
      // gone meanwhile: no name to give
    }
    return { taken: false, holder: text };
  }

  /** Open the lock file (the error where it cannot be), before taking it. */
  prepare(): string | undefined {
    this.path ??= this.file();
    if (!this.path) return 'no writable directory for the lock file (/run/lock, /var/lock, /tmp)';
    try {
      this.fd ??= this.files.open(this.path);
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }

  tryTake(holder: string): LockAnswer {
    const error = this.prepare();
    return error === undefined ? this.attempt(holder, this.path!) : { error };
  }

  /** Try again every 100 ms until taken or `waitMs` has passed. */
  async waitTake(waitMs: number, holder: string): Promise<LockAnswer> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const answer = this.tryTake(holder);
      if (!('taken' in answer) || answer.taken || Date.now() >= deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  }

  release(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
