/**
 * The Node side of the agent: spawns the connection chain once, writes request lines to
 * its stdin and splits both output streams into per-request answers. Requests may be
 * written while earlier ones run (the agent handles them in order), and both pipes are
 * always read, so neither can fill up and deadlock the chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ConnectionError, ConnectionLostError } from '../errors.js';
import { FrameReader } from './frame-reader.js';
import { logger } from '../log.js';
import { helloRequest, type Request } from './requests.js';

const debug = logger('consfig:agent');

export interface RawAnswer {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

interface Pending {
  nonce: Buffer;
  describe: string;
  stdout?: Buffer;
  stderr?: Buffer;
  exitCode?: number;
  resolve(answer: RawAnswer): void;
  reject(error: Error): void;
}

export interface AgentSpawnOptions {
  /** The chain as text, for messages. */
  chain: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written before the first request, e.g. a sudo password read by the chain. */
  preamble?: Buffer;
}

export interface AgentInfo {
  pid: number;
  /** The agent's process group on the target: what to kill to stop it and its commands. */
  pgid: number;
  uid: number;
  gid: number;
}

export class AgentClient {
  private readonly out = new FrameReader(true);
  private readonly err = new FrameReader(false);
  private readonly pending: Pending[] = [];
  private readonly prefix = `@@consfig:${randomBytes(8).toString('hex')}:`;
  private counter = 0;
  private exited = false;
  private exitError: Error | undefined;
  private readonly exitPromise: Promise<void>;
  info: AgentInfo = { pid: 0, pgid: 0, uid: -1, gid: -1 };

  private constructor(
    private readonly proc: ChildProcess,
    private readonly chain: string,
  ) {
    proc.stdout!.on('data', (chunk: Buffer) => {
      this.out.push(chunk);
      this.pump();
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      this.err.push(chunk);
      this.pump();
    });
    // EPIPE when the chain died is reported through the exit handler instead.
    proc.stdin!.on('error', () => {});
    this.exitPromise = new Promise((resolve) => {
      proc.on('error', (error) => {
        this.fail(new ConnectionError(`cannot start ${chain}: ${error.message}`, chain, '', undefined));
        resolve();
      });
      const ended = (code: number | null, signal: NodeJS.Signals | null) => {
        const stderr = this.err.drainAll().toString('utf8');
        const status = signal ? `signal ${signal}` : `exit code ${code}`;
        this.fail(new ConnectionLostError(`connection ${chain} ended (${status})`, chain, stderr, code ?? undefined));
        resolve();
      };
      proc.on('close', ended);
      // A process left behind by the chain may hold the pipes open long after the chain
      // itself has exited: do not wait for it.
      proc.on('exit', (code, signal) => {
        setTimeout(() => ended(code, signal), 100).unref();
      });
    });
  }

  /** Spawn `argv` (the chain ending in `sh -c AGENT_PROGRAM`) and wait for the agent. */
  static async start(argv: readonly string[], options: AgentSpawnOptions): Promise<AgentClient> {
    debug('spawn %s', options.chain);
    const proc = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      // Its own process group, so that kill() takes everything the chain started.
      detached: true,
    });
    const client = new AgentClient(proc, options.chain);
    if (options.preamble) proc.stdin!.write(options.preamble);
    try {
      const hello = await client.send(helloRequest(client.nextNonce()));
      const text = hello.stdout.toString('utf8');
      const m = /pid=(\d+) pgid=(\d+) uid=(\d+)\S* gid=(\d+)/.exec(text);
      if (!m) throw new ConnectionError(`unexpected greeting from ${options.chain}`, options.chain, hello.stderr.toString());
      client.info = { pid: Number(m[1]), pgid: Number(m[2]), uid: Number(m[3]), gid: Number(m[4]) };
      return client;
    } catch (error) {
      await client.close();
      if (error instanceof ConnectionLostError) {
        const detail = error.stderr.trim();
        throw new ConnectionError(
          `cannot connect via ${options.chain}${detail ? `: ${detail}` : ''}`,
          options.chain,
          error.stderr,
          error.exitCode,
        );
      }
      throw error;
    }
  }

  nextNonce(): string {
    return `${this.prefix}${(this.counter++).toString(36)}@@`;
  }

  get alive(): boolean {
    return !this.exited;
  }

  send(request: Request): Promise<RawAnswer> {
    if (this.exited) return Promise.reject(this.exitError ?? new ConnectionLostError('connection closed', this.chain, ''));
    const nonce = request.nonce;
    if (!nonce.startsWith(this.prefix)) throw new TypeError('request was not built with this client nonce');
    debug('%s → %s', this.chain, request.describe);
    return new Promise<RawAnswer>((resolve, reject) => {
      this.pending.push({ nonce: Buffer.from(nonce, 'latin1'), describe: request.describe, resolve, reject });
      const stdin = this.proc.stdin!;
      stdin.write(request.line);
      if (request.payload && request.payload.length > 0) stdin.write(request.payload);
    });
  }

  /** End the agent (EOF on its stdin) and wait for the chain to exit. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.exited) {
      this.proc.stdin!.end();
      const timer = setTimeout(() => this.kill('SIGTERM'), timeoutMs);
      timer.unref();
      await this.exitPromise;
      clearTimeout(timer);
    }
  }

  /** Kill the chain at once (Ctrl-C). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, signal);
    } catch {
      // already gone
    }
  }

  private pump(): void {
    for (const p of this.pending) {
      if (p.stdout === undefined) {
        const frame = this.out.take(p.nonce);
        if (!frame) break;
        p.stdout = frame.payload;
        p.exitCode = Number.parseInt(frame.trailer.trim(), 10);
      }
    }
    for (const p of this.pending) {
      if (p.stderr === undefined) {
        const frame = this.err.take(p.nonce);
        if (!frame) break;
        p.stderr = frame.payload;
      }
    }
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (head.stdout === undefined || head.stderr === undefined) break;
      this.pending.shift();
      debug('%s ← %s: exit %d', this.chain, head.describe, head.exitCode);
      head.resolve({ exitCode: head.exitCode!, stdout: head.stdout, stderr: head.stderr });
    }
  }

  private fail(error: Error): void {
    if (this.exited) return;
    this.exited = true;
    this.exitError = error;
    for (const p of this.pending.splice(0)) p.reject(error);
  }
}
