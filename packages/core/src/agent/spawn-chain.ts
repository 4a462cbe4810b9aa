/**
 * Start a connection chain's first process, detached in a session of its own, its stdio on
 * socket pairs. posix_spawn through koffi where it can (see native/posix-spawn.ts: Node's
 * own spawn blocks the main thread for a fork of the whole process), Node's spawn where it
 * cannot: no koffi build or no glibc, or a worker thread, which gets no SIGCHLD. One
 * difference: an executable file without a `#!` line fails with ENOEXEC here, where
 * execvp would hand it to /bin/sh; a chain always starts a real program.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { onChildExit } from '../native/child-exit.js';
import { posixSpawn, posixSpawnAvailable, type ExitStatus } from '../native/posix-spawn.js';

/** What the agent uses of a child process; Node's ChildProcess has it too. */
export interface ChainProcess {
  readonly pid?: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  on(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  /**
   * A chain with no process of this machine's to kill (pid undefined): stop talking to
   * it at once, which its far end sees as the end of its input; its end is then told as
   * that of a chain killed with `signal`.
   */
  hangUp?(signal?: NodeJS.Signals): void;
}

export type SpawnMethod = 'posix_spawn' | 'node';

// node:child_process and node:worker_threads are required when used: ~2 ms of every
// start otherwise, for a fallback and one flag.
const require = createRequire(import.meta.url);

/** The method spawnChain takes on this platform and thread. */
export function defaultSpawnMethod(): SpawnMethod {
  const { isMainThread } = require('node:worker_threads') as typeof import('node:worker_threads');
  return isMainThread && posixSpawnAvailable() ? 'posix_spawn' : 'node';
}

export function spawnChain(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  method: SpawnMethod = defaultSpawnMethod(),
): ChainProcess {
  if (method === 'node') {
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    return spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  }
  return new SpawnedChain(argv, env);
}

/** Number to name, the first name where two share a number (SIGABRT, not SIGIOT). */
function names<T extends string>(table: Record<string, number>): Map<number, T> {
  const map = new Map<number, T>();
  for (const [name, n] of Object.entries(table)) if (!map.has(n)) map.set(n, name as T);
  return map;
}
const signalNames = names<NodeJS.Signals>(osConstants.signals);
const errnoNames = names<string>(osConstants.errno);

/**
 * Where `file` was found, by PATH: a run starts its chains' first programs (perl, sudo,
 * ssh) many times over, and a search stats each directory (~1 ms a chain here, under load).
 */
const found = new Map<string, string>();

/** `file` looked up in the PATH the child gets, as execvp would, or undefined. */
export function findExecutable(file: string, env: NodeJS.ProcessEnv): string | undefined {
  if (file.includes('/')) return file;
  const key = `${env.PATH ?? ''}\0${file}`;
  const known = found.get(key);
  if (known !== undefined) return known;
  const path = searchPath(file, env);
  // A relative directory of the PATH is relative to a cwd that may change: not kept.
  if (path?.startsWith('/')) found.set(key, path);
  return path;
}

/** Forget where `file` was found (it was not there when started). */
function forgetExecutable(file: string, env: NodeJS.ProcessEnv): boolean {
  return found.delete(`${env.PATH ?? ''}\0${file}`);
}

function searchPath(file: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    const path = join(dir || '.', file);
    // stat first, which throws nothing where there is no such file: most directories
    // of a PATH have none, and an exception a directory costs more than the call.
    try {
      if (!statSync(path, { throwIfNoEntry: false })?.isFile()) continue;
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // not executable by us, or not a directory we may search
    }
  }
  return undefined;
}

function spawnError(file: string, argv: readonly string[], code: string, errno: number): Error {
  return Object.assign(new Error(`spawn ${file} ${code}`), {
    code,
    errno: -errno,
    syscall: `spawn ${file}`,
    path: file,
    spawnargs: argv.slice(1),
  });
}

/**
 * What a chain whose stdio are sockets or pipes of this process reports, as Node's
 * ChildProcess does: 'exit' when the process has ended (its stdin then destroyed), 'close'
 * once it has and both its output streams have closed.
 */
export abstract class StreamedChain extends EventEmitter implements ChainProcess {
  abstract readonly pid: number | undefined;
  abstract readonly stdin: Writable;
  abstract readonly stdout: Readable;
  abstract readonly stderr: Readable;
  private openStreams = 2;
  private closed = false;
  protected exitStatus: [number | null, NodeJS.Signals | null] | undefined;

  /** Call once the output streams exist. */
  protected watchStreams(): void {
    for (const stream of [this.stdout, this.stderr]) stream.on('close', () => this.streamClosed());
  }

  protected exited(status: ExitStatus | null): void {
    if (this.exitStatus) return;
    const code = status?.code ?? null;
    const signal = status?.signal ? (signalNames.get(status.signal) ?? null) : null;
    this.exitStatus = [code, signal];
    // As Node's ChildProcess: nothing more can be written to a process that has gone.
    this.stdin.destroy();
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  /** Both output streams have closed (a hook for chains whose end is learnt from them). */
  protected outputClosed(): void {}

  private streamClosed(): void {
    this.openStreams--;
    if (this.openStreams === 0) this.outputClosed();
    this.maybeClose();
  }

  private maybeClose(): void {
    if (!this.exitStatus || this.openStreams > 0 || this.closed) return;
    this.closed = true;
    this.emit('close', ...this.exitStatus);
  }
}

class SpawnedChain extends StreamedChain {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;

  constructor(argv: readonly string[], env: NodeJS.ProcessEnv) {
    super();
    const file = argv[0]!;
    const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const start = () => {
      const path = findExecutable(file, env);
      return path === undefined ? osConstants.errno.ENOENT : posixSpawn(path, argv, envp);
    };
    let started = start();
    // Found before and gone since (a package removed it, or moved it in the PATH): search again.
    if (started === osConstants.errno.ENOENT && forgetExecutable(file, env)) started = start();
    if (typeof started === 'number') {
      // As Node does: no process, streams that end at once, the error on the next tick.
      this.pid = undefined;
      this.stdin = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      this.stdout = Readable.from([]);
      this.stderr = Readable.from([]);
      const error = spawnError(file, argv, errnoNames.get(started) ?? `errno ${started}`, started);
      process.nextTick(() => this.emit('error', error));
      return;
    }
    this.pid = started.pid;
    this.stdin = new Socket({ fd: started.stdin, readable: false, writable: true });
    this.stdout = new Socket({ fd: started.stdout, readable: true, writable: false });
    this.stderr = new Socket({ fd: started.stderr, readable: true, writable: false });
    this.watchStreams();
    onChildExit(started.pid, (status) => this.exited(status));
  }
}
