/**
 * The Node side of the agent: spawns the connection chain once, writes request lines to
 * its stdin and splits both output streams into per-request answers as they arrive.
 * Requests may be written while earlier ones run (the agent handles them in order), and
 * both pipes are always read, so neither can fill up and deadlock the chain; only a
 * streaming sink that asks for a pause (a slow terminal) pauses the pipe it is fed from.
 */
import { randomHex } from '../random.js';
import { AgentProtocolError, ConnectionError, ConnectionLostError } from '../errors.js';
import { logger } from '../log.js';
import { FrameReader } from './frame-reader.js';
import type { OutputSink } from '../connection.js';
import { Collector } from './output.js';
import { helloRequest, switchRequest, type Request } from './requests.js';
import { attachAgentSync } from './attached-chain.js';
import { forkChain } from './forker.js';
import { defaultSpawnMethod, spawnChain, type ChainProcess } from './spawn-chain.js';

const debug = logger('consfig:agent');

/**
 * Commands a front runs before the shell takes over: perl forks dearer than the shell (its
 * pages, copy-on-write: ~1.5 ms more a command on the test machine), so the shell's start
 * (~3 ms) pays for itself from the third command on.
 */
const FRONT_RUNS = 2;

export interface RawAnswer {
  exitCode: number;
  /** Collected output; empty where it was streamed to a sink. */
  stdout: Buffer;
  stderr: Buffer;
  /** Bytes a limit left out of stdout and stderr. */
  stdoutOmitted: number;
  stderrOmitted: number;
}

/** Where one request's output goes (default: collected whole). */
export interface AnswerOptions {
  stdout?: OutputSink | undefined;
  stderr?: OutputSink | undefined;
  /** Bytes of each collected stream kept: its first and last halves. */
  limit?: number | undefined;
}

interface Pending {
  describe: string;
  stdout: Collector;
  stderr: Collector;
  exitCode?: number;
  outDone: boolean;
  errDone: boolean;
  resolve(answer: RawAnswer): void;
  reject(error: Error): void;
}

export interface AgentSpawnOptions {
  /** The chain as text, for messages. */
  chain: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written before the first request, e.g. a sudo password read by the chain. */
  preamble?: Buffer;
  /** The chain may end in a front (front.ts): switch to the shell before other requests. */
  front?: boolean;
  /** The chain as one helper's `perl -e TEXT -- ARGS`, forked from the run's forker where it can be (forker.ts). */
  forkArgv?: readonly string[];
  /** Where an agent an earlier run kept may listen, tried before starting the chain (attached-chain.ts). */
  agentSocket?: string;
  /** The chain to such an agent, attached already: used instead of starting one. */
  attached?: ChainProcess;
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
  private readonly prefix = `@@consfig:${randomHex(8)}:`;
  private counter = 0;
  private exited = false;
  /** The greeting's content was known beforehand (see assume). */
  private assumed = false;
  private greetOnStart = false;
  /** Why the chain ended: made when first asked for (an error's stack costs, and most ends are asked nothing). */
  private exitError: (() => Error) | undefined;
  private readonly exitPromise: Promise<void>;
  info: AgentInfo = { pid: 0, pgid: 0, uid: -1, gid: -1 };
  /** Requests written behind the switch from a front to the shell, until it answers. */
  private held: Buffer[] | undefined;
  /** Commands the front ran (see FRONT_RUNS). */
  private frontRuns = 0;

  /** The chain's process: spawned at once, or when first written to (launchLazily). */
  private proc: ChainProcess | undefined;
  private exitResolve!: () => void;

  private constructor(
    private readonly spawn: () => ChainProcess,
    private readonly chain: string,
    /** Whether a front may still be answering (see AgentSpawnOptions.front). */
    private front = false,
  ) {
    this.exitPromise = new Promise((resolve) => (this.exitResolve = resolve));
  }

  /** The chain's process, spawned now where it was not yet. */
  private started(): ChainProcess {
    if (this.proc) return this.proc;
    const proc = this.spawn();
    this.proc = proc;
    // What was assumed of a lazily started agent: it is the process, leader of its session.
    if (this.assumed) this.info = { ...this.info, pid: proc.pid ?? 0, pgid: proc.pid ?? 0 };
    proc.stdout!.on('data', (chunk: Buffer) => this.out.push(chunk));
    proc.stderr!.on('data', (chunk: Buffer) => this.err.push(chunk));
    // EPIPE when the chain died is reported through the exit handler instead.
    proc.stdin!.on('error', () => {});
    const chain = this.chain;
    proc.on('error', (error) => {
      this.fail(() => new ConnectionError(`cannot start ${chain}: ${error.message}`, chain, '', undefined));
      this.exitResolve();
    });
    const ended = (code: number | null, signal: NodeJS.Signals | null) => {
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      const stderr = this.lastStderr();
      this.fail(
        () => new ConnectionLostError(`connection ${chain} ended (${status})`, chain, stderr, code ?? undefined),
      );
      this.exitResolve();
    };
    proc.on('close', ended);
    // A process left behind by the chain may hold the pipes open long after the chain
    // itself has exited: do not wait for it.
    proc.on('exit', (code, signal) => {
      setTimeout(() => ended(code, signal), 100).unref();
    });
    return proc;
  }

  /**
   * The greeting's outcome: settled once the agent has said who it is, rejected (with a
   * ConnectionError naming the chain) when it never did. Requests sent before then wait
   * in the pipe behind the greeting and are answered after it.
   */
  ready: Promise<void> = Promise.resolve();

  /** Spawn `argv` (the chain ending in `sh -c AGENT_PROGRAM`) and greet the agent, without waiting. */
  static launch(argv: readonly string[], options: AgentSpawnOptions): AgentClient {
    const client = AgentClient.launchLazily(argv, options);
    const proc = client.started();
    if (options.preamble) proc.stdin!.write(options.preamble);
    client.ready = client.greet();
    // Whoever uses the client awaits it; unawaited meanwhile, it must not count as unhandled.
    client.ready.catch(() => {});
    return client;
  }

  /**
   * A client whose chain is spawned when the first request is sent, ungreeted: for an
   * agent on this machine whose greeting is known (assume), which a run may never need.
   */
  static launchLazily(argv: readonly string[], options: Omit<AgentSpawnOptions, 'preamble'>): AgentClient {
    // In a session of its own, so that kill() takes everything the chain started.
    const spawn = () => {
      const attached =
        options.attached ?? (options.agentSocket === undefined ? undefined : attachAgentSync(options.agentSocket));
      if (attached) {
        debug('attach %s (an agent kept by an earlier run)', options.chain);
        return attached;
      }
      const env = options.env ?? process.env;
      const forked = options.forkArgv ? forkChain(options.forkArgv, env) : undefined;
      debug('spawn %s (%s)', options.chain, forked ? 'forked' : defaultSpawnMethod());
      return forked ?? spawnChain(argv, env);
    };
    return new AgentClient(spawn, options.chain, options.front ?? false);
  }

  /** Spawn `argv` and wait for the agent's greeting. */
  static async start(argv: readonly string[], options: AgentSpawnOptions): Promise<AgentClient> {
    const client = AgentClient.launch(argv, options);
    await client.ready;
    return client;
  }

  /** Whether a greeting was sent (not to an agent started lazily, whose greeting is assumed). */
  private greeted = false;

  private async greet(): Promise<void> {
    this.greeted = true;
    try {
      const hello = await this.send(helloRequest(this.nextNonce()));
      if (!this.learn(hello.stdout.toString('utf8'))) {
        throw new ConnectionError(`unexpected greeting from ${this.chain}`, this.chain, hello.stderr.toString());
      }
    } catch (error) {
      await this.close();
      if (error instanceof ConnectionLostError) {
        const detail = error.stderr.trim();
        throw new ConnectionError(
          `cannot connect via ${this.chain}${detail ? `: ${detail}` : ''}`,
          this.chain,
          error.stderr,
          error.exitCode,
        );
      }
      throw error;
    }
  }

  /**
   * What the greeting will say, known beforehand (a chain on this machine): the agent is
   * the spawned process, leader of its session; requests need not wait for the greeting.
   */
  assume(ids: { uid: number; gid: number }): void {
    const pid = this.proc?.pid ?? 0;
    this.info = { pid, pgid: pid, ...ids };
    this.assumed = true;
  }

  /** The agent's ids from its greeting's text; false where it says none. */
  private learn(text: string): boolean {
    const m = /pid=(\d+) pgid=(\d+) uid=(\d+)\S* gid=(\d+)/.exec(text);
    if (m) this.info = { pid: Number(m[1]), pgid: Number(m[2]), uid: Number(m[3]), gid: Number(m[4]) };
    return m !== null;
  }

  /**
   * For an agent behind a chain (a container's, a chroot's) whose ids are assumed: its
   * greeting, asked for first when the chain starts, gives its pid and process group there
   * (answered before whatever the start is for: the agent answers in order).
   */
  greetWhenStarted(): void {
    this.greetOnStart = true;
  }

  nextNonce(): string {
    return `${this.prefix}${(this.counter++).toString(36)}@@`;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Whether requests sent are still unanswered. */
  get busy(): boolean {
    return this.pending.length > 0;
  }

  /** Whether the chain's process was started (a lazily started one: by a request). */
  get spawned(): boolean {
    return this.proc !== undefined;
  }

  send(request: Request, options: AnswerOptions = {}): Promise<RawAnswer> {
    if (this.exited)
      return Promise.reject(this.exitError?.() ?? new ConnectionLostError('connection closed', this.chain, ''));
    if (!this.proc) {
      // Started lazily: its greeting first, unawaited (what it says was assumed), for the
      // shell's own sake (it learns there who it is, for its lock file's name).
      this.started();
      const hello = this.send(helloRequest(this.nextNonce()));
      hello.then((answer) => this.greetOnStart && this.learn(answer.stdout.toString('utf8'))).catch(() => {});
    }
    if (!request.nonce.startsWith(this.prefix))
      throw new AgentProtocolError('request was not built with this client nonce');
    let { line, payload } = request;
    if (this.front && request.frontLine && (!request.frontRun || this.frontRuns < FRONT_RUNS)) {
      if (request.frontRun) this.frontRuns++;
      line = request.frontLine;
      payload = request.frontPayload;
    } else if (this.front && !request.front) {
      this.switchToShell();
    }
    const nonce = Buffer.from(request.nonce, 'latin1');
    debug('%s → %s', this.chain, request.describe);
    return new Promise<RawAnswer>((resolve, reject) => {
      const p: Pending = {
        describe: request.describe,
        stdout: new Collector(options.limit),
        stderr: new Collector(options.limit),
        outDone: false,
        errDone: false,
        resolve,
        reject,
      };
      this.pending.push(p);
      this.out.expect({
        nonce,
        data: this.sink(p.stdout, options.stdout, () => this.started().stdout!),
        end: (trailer) => {
          p.exitCode = Number.parseInt(trailer.trim(), 10);
          p.outDone = true;
          this.settle();
        },
      });
      this.err.expect({
        nonce,
        data: this.sink(p.stderr, options.stderr, () => this.started().stderr!),
        end: () => {
          p.errDone = true;
          this.settle();
        },
      });
      // One write where the data is small: over ssh, one packet and one wake-up at the
      // far end instead of two.
      if (payload && payload.length > 0 && payload.length <= 65536) this.write(Buffer.concat([line, payload]));
      else {
        this.write(line);
        if (payload && payload.length > 0) this.write(payload);
      }
    });
  }

  private write(bytes: Buffer): void {
    if (this.held) this.held.push(bytes);
    else this.started().stdin!.write(bytes);
  }

  /**
   * The front reads ahead: it execs the shell only when nothing follows the switch in its
   * input, so what comes after waits for the shell's answer.
   */
  private switchToShell(): void {
    this.front = false;
    const flush = () => {
      const held = this.held ?? [];
      this.held = undefined;
      for (const bytes of held) this.started().stdin!.write(bytes);
    };
    this.send(switchRequest(this.nextNonce())).then(flush, flush);
    this.held = [];
  }

  /** End the agent (EOF on its stdin) and wait for the chain to exit. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.exited && !this.proc) {
      // Never needed, never started.
      this.fail(() => new ConnectionLostError('connection closed', this.chain, ''));
      this.exitResolve();
      return;
    }
    if (!this.exited && this.proc) {
      // An agent on this machine that was only greeted has done nothing: no need to wait
      // for its shell to start, read the greeting and see the end of its input.
      if (this.assumed && this.greeted && this.counter <= 1) this.kill('SIGKILL');
      this.proc.stdin!.end();
      const timer = setTimeout(() => this.kill('SIGTERM'), timeoutMs);
      timer.unref();
      await this.exitPromise;
      clearTimeout(timer);
    }
  }

  /** Whether the agent is one an earlier run kept (attached-chain.ts): no process of ours to kill. */
  get attached(): boolean {
    return this.proc !== undefined && this.proc.pid === undefined && this.proc.hangUp !== undefined;
  }

  /** Kill the chain at once (Ctrl-C). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.proc?.hangUp?.(signal);
    if (this.proc?.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Collect, or pass on to a sink and pause the pipe while the sink is full. */
  private sink(
    collector: Collector,
    to: OutputSink | undefined,
    from: () => NodeJS.ReadableStream,
  ): (chunk: Buffer) => void {
    if (!to) return (chunk) => collector.add(chunk);
    return (chunk) => {
      if (!to.write(chunk)) {
        from().pause();
        to.once('drain', () => from().resume());
      }
    };
  }

  /** Answer, in order, the requests whose both streams have ended. */
  private settle(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (!head.outDone || !head.errDone) break;
      this.pending.shift();
      debug('%s ← %s: exit %d', this.chain, head.describe, head.exitCode);
      const stdout = head.stdout.result();
      const stderr = head.stderr.result();
      head.resolve({
        exitCode: head.exitCode!,
        stdout: stdout.bytes,
        stderr: stderr.bytes,
        stdoutOmitted: stdout.omitted,
        stderrOmitted: stderr.omitted,
      });
    }
  }

  /** What the chain last printed on stderr: the unanswered request's, and anything held back. */
  private lastStderr(): string {
    const head = this.pending.find((p) => !p.errDone);
    const collected = head ? head.stderr.result().bytes : Buffer.alloc(0);
    return Buffer.concat([collected, this.err.held()]).toString('utf8');
  }

  private fail(make: () => Error): void {
    if (this.exited) return;
    this.exited = true;
    let error: Error | undefined;
    this.exitError = () => (error ??= make());
    for (const p of this.pending.splice(0)) p.reject(this.exitError());
  }
}
