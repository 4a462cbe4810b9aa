/**
 * The deployment lock of a local connection, taken by this process: flock(2) on the very
 * file the agent would lock with flock(1) (same directories, same name by uid, 0600, the
 * holder's line written in it), so deployments by the agent and by this process exclude
 * each other. Where flock(1) is missing the agents lock with a directory instead, and so
 * this is not used (`LocalLock.for` gives none). Released when closed, or by the kernel
 * when this process dies, as the agent's goes with the agent.
 */
import { accessSync, closeSync, constants, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

export class LocalLock {
  private fd: number | undefined;
  private path: string | undefined;

  private constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** A local lock for `env`'s agent, or undefined where the agent's own must be used. */
  static for(env: NodeJS.ProcessEnv): LocalLock | undefined {
    return bound() && findExecutable('flock', env) ? new LocalLock(env) : undefined;
  }

  /** The agent's choice: the first writable directory of these. */
  private file(): string | undefined {
    const dirs = [this.env.CONSFIG_LOCK_DIR || '/run/lock', '/run/lock', '/var/lock', this.env.TMPDIR || '/tmp'];
    const uid = process.getuid!();
    for (const dir of dirs) {
      try {
        if (!statSync(dir).isDirectory()) continue;
        accessSync(dir, constants.W_OK);
        return `${dir}/${uid === 0 ? 'consfig.lock' : `consfig-${uid}.lock`}`;
      } catch {
        // not this one
      }
    }
    return undefined;
  }

  private attempt(holder: string, path: string): LockAnswer {
    if (bound()!(this.fd!, LOCK_EX | LOCK_NB) === 0) {
      writeFileSync(path, `${holder}\n`);
      return { taken: true };
    }
    let text = '';
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch {
      // gone meanwhile: no name to give
    }
    return { taken: false, holder: text };
  }

  tryTake(holder: string): LockAnswer {
    this.path ??= this.file();
    if (!this.path) return { error: 'no writable directory for the lock file (/run/lock, /var/lock, /tmp)' };
    try {
      this.fd ??= openSync(this.path, 'a', 0o600);
    } catch (error) {
      return { error: (error as Error).message };
    }
    return this.attempt(holder, this.path);
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
