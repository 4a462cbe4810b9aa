/**
 * A Connection backed by one agent at the end of a hop chain. It keeps what probes
 * learnt about the target's files, so the checks of many file properties cost one round
 * trip: writes refresh the entry they touch, and any command not marked read-only drops
 * the whole cache, since it may have changed anything.
 */
import { randomHex } from '../random.js';
import { posix } from 'node:path';
import { LocalLock, type LockAnswer } from './local-lock.js';
import { TargetRoot } from './target-root.js';
import { localProbeAvailable, probeLocally } from './local-probe.js';
import { mkdirLocally } from './local-mkdir.js';
import { LOCAL_WRITE_LIMIT, writeLocally, type LocalWrite } from './local-write.js';
import { attachAgent } from './attached-chain.js';
import { AgentClient, type RawAnswer } from './client.js';
import { parseProbe } from './probe-parse.js';
import { frontBoot } from './front.js';
import { AGENT_PROGRAM } from './program.js';
import {
  lockTryRequest,
  lockWaitRequest,
  mkdirTarget,
  PROBE_BYTES_LIMIT,
  probeRequest,
  readRequest,
  runRequest,
  writeRequest,
} from './requests.js';
import {
  describeChain,
  type Ask,
  type CommandEvent,
  type CommandResult,
  type Connection,
  type FileInfo,
  type Hop,
  type HopContext,
  type LockOptions,
  type ProbeQuery,
  type RunOptions,
  type WriteOptions,
} from '../connection.js';
import {
  ConnectionError,
  ConsfigError,
  FileNotFoundError,
  InvalidRequestError,
  LockedError,
  WriteFailedError,
} from '../errors.js';
import { monotonicMs } from '../monotonic.js';

export interface OpenOptions {
  env?: NodeJS.ProcessEnv;
  /** Asks the person at the terminal (a sudo password); see HopContext. */
  ask?: Ask | undefined;
  askPasswords?: boolean | undefined;
  data?: ((iden1: string, iden2: string) => Promise<Buffer>) | undefined;
  /** See HopContext.keepConnections. */
  keepConnections?: number | undefined;
  /**
   * On this machine (no hops), whether the deployment lock and probes are this process's
   * (the default: the same lock file and answers without the agent's flock, find and
   * cat) or, when false, the agent's; the same for a container or chroot that root
   * deploys through its one hop (Hop.targetPid, targetTree).
   */
  inProcess?: boolean | undefined;
  /**
   * Whether a remote chain's agent answers the greeting, lock, probes, writes and first
   * commands from perl before starting its shell (front.ts; the default): the last hop's
   * own perl where it has one (a container's or chroot's helper), else perl started in
   * front of the agent; false starts the shell at once.
   */
  front?: boolean | undefined;
}

/** Spawn the chain for `hops` (empty: this machine) and return its connection. */
export async function openConnection(hops: readonly Hop[], options: OpenOptions = {}): Promise<Connection> {
  return openAgentConnection(hops, options, 0);
}

/**
 * Spawn the chain and return its connection at once, with the greeting's outcome:
 * requests sent before `ready` settles travel with the greeting (one round trip less);
 * when the chain fails they fail too, and `ready` says why.
 */
export async function launchConnection(
  hops: readonly Hop[],
  options: OpenOptions = {},
  ownFrom = 0,
): Promise<{ conn: AgentConnection; ready: Promise<void> }> {
  // A remote chain's agent has a front: the last hop's own (a helper's perl), else one
  // started in front of the agent's shell.
  const front = options.front !== false && hops.length > 0;
  const ownFront = front && hops.at(-1)!.front === true;
  const contexts: HopContext[] = hops.map((_, i) => ({
    position: i,
    chain: describeChain(hops.slice(0, i + 1)),
    ask: options.ask,
    askPasswords: options.askPasswords,
    data: options.data,
    keepConnections: options.keepConnections,
    front: ownFront && i === hops.length - 1,
  }));
  const agent = ['sh', '-c', AGENT_PROGRAM];
  let argv: readonly string[] = front && !ownFront ? frontBoot(agent) : agent;
  // A helper started on this machine by the chain's only hop: forked from one perl per run.
  const forkArgv = hops.length === 1 ? hops[0]!.fork?.(argv, contexts[0]!) : undefined;
  const agentSocket = hops.length === 1 ? hops[0]!.agentSocket?.(argv, contexts[0]!) : undefined;
  for (let i = hops.length - 1; i >= 0; i--) argv = hops[i]!.wrap(argv, contexts[i]!);
  // One after the other: two hops that ask never ask at once.
  const preambles: Buffer[] = [];
  for (const [i, hop] of hops.entries()) preambles.push((await hop.preamble?.(contexts[i]!)) ?? Buffer.alloc(0));
  const preamble = Buffer.concat(preambles);
  const chain = describeChain(hops);
  const spawnOptions = {
    chain,
    ...(options.env ? { env: options.env } : {}),
    front,
    ...(forkArgv ? { forkArgv } : {}),
  };
  if (hops.length === 0 && options.inProcess !== false) {
    // This machine: the agent is this process's user, a child in a session of its own, so
    // nothing its greeting would say is unknown, and the lock, probes and most writes need
    // no agent: it starts with the first request that does (a command), which fails where
    // the shell cannot start. A deployment that runs no command starts no process.
    const client = AgentClient.launchLazily(argv, spawnOptions);
    client.assume({ uid: process.getuid!(), gid: process.getgid!() });
    return { conn: new AgentConnection(client, hops, options, ownFrom), ready: Promise.resolve() };
  }
  const root = hops.length === 1 && options.inProcess !== false ? await targetRoot(hops[0]!) : undefined;
  if (root) {
    // A container or chroot deployed by root: its lock, probes, mkdir and most writes are
    // this process's (target-root.ts); its agent starts with the first request that needs
    // it, as root there (0, 0).
    // A kept agent is attached to then too: when the first request needs it.
    const client = AgentClient.launchLazily(argv, { ...spawnOptions, ...(agentSocket ? { agentSocket } : {}) });
    client.assume({ uid: 0, gid: 0 });
    client.greetWhenStarted();
    return { conn: new AgentConnection(client, hops, options, ownFrom, root), ready: Promise.resolve() };
  }
  const attached = agentSocket === undefined ? undefined : await attachAgent(agentSocket);
  const client = AgentClient.launch(argv, {
    ...spawnOptions,
    ...(preamble.length > 0 ? { preamble } : {}),
    ...(attached ? { attached } : {}),
  });
  const ready = client.ready.catch(async (error: unknown) => {
    // A hop that did start something (an ssh master) must not outlive a later hop's failure.
    for (const hop of hops.slice(ownFrom)) await hop.cleanup?.().catch(() => {});
    if (error instanceof ConnectionError) {
      const hint = hops.map((h) => h.explain?.(error.stderr)).find(Boolean);
      if (hint) throw new ConnectionError(`${error.message} (${hint})`, error.chain, error.stderr, error.exitCode);
    }
    throw error;
  });
  ready.catch(() => {});
  return { conn: new AgentConnection(client, hops, options, ownFrom), ready };
}

/**
 * The target's root where `hop` names a tree, or a process whose root this process may
 * read (Hop.targetTree, targetPid).
 */
async function targetRoot(hop: Hop): Promise<TargetRoot | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  if (hop.targetTree) {
    const tree = hop.targetTree();
    return tree && TargetRoot.ofTree(tree);
  }
  if (!hop.targetPid) return undefined;
  const pid = await hop.targetPid().catch(() => undefined);
  return pid === undefined ? undefined : TargetRoot.open(pid);
}

async function openAgentConnection(
  hops: readonly Hop[],
  options: OpenOptions,
  ownFrom: number,
): Promise<AgentConnection> {
  const { conn, ready } = await launchConnection(hops, options, ownFrom);
  await ready;
  return conn;
}

const NAME_MAX = 255;
const noop = () => {};
/** How long a deployment waits for a holder of its own run: as long as that takes. */
const SAME_RUN_WAIT_MS = 24 * 3600_000;

/**
 * A temp name beside `path` that nobody can guess, within NAME_MAX however long the
 * file's own name is: the name is kept only while it fits.
 */
export function tempPathFor(path: string): string {
  const base = posix.basename(path);
  const suffix = `.consfig-${randomHex(8)}`;
  const withName = `.${base}${suffix}`;
  const name = Buffer.byteLength(withName) <= NAME_MAX ? withName : `.consfig${suffix}`;
  return posix.join(posix.dirname(path), name);
}

function modeString(mode: string | number | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const text = typeof mode === 'number' ? mode.toString(8) : mode;
  if (!/^[0-7]{3,4}$/.test(text)) throw new InvalidRequestError(`bad file mode ${String(mode)}`);
  return text.padStart(4, '0');
}

export class AgentConnection implements Connection {
  readonly chainText: string;
  private readonly cache = new Map<string, FileInfo>();
  private readonly children: AgentConnection[] = [];
  private listener: ((event: CommandEvent) => void) | undefined;
  private closed = false;
  /** The deployment lock being taken, settled either way (reads made here wait for it). */
  private locking: Promise<void> | undefined;
  private lockPending = false;
  /** Probes made by this process that wait for requests before them (see probe). */
  private probing = 0;
  /** The last command or write sent, settled either way (the agent answers in order). */
  private changing: Promise<void> | undefined;
  /** The lock this process holds for a local connection (null: the agent's is used). */
  private localLock: LocalLock | null | undefined;

  constructor(
    private readonly client: AgentClient,
    readonly hops: readonly Hop[],
    private readonly options: OpenOptions,
    /** Hops from this index on were added by this connection (the rest belong to its parent). */
    private readonly ownFrom = 0,
    /** The target's files as this process reads them (a container's, as root), for the lock and probes. */
    private readonly root?: TargetRoot,
  ) {
    this.chainText = describeChain(hops);
  }

  get uid(): number {
    return this.client.info.uid;
  }

  get gid(): number {
    return this.client.info.gid;
  }

  get pid(): number {
    return this.client.info.pid;
  }

  onCommand(listener: ((event: CommandEvent) => void) | undefined): void {
    this.listener = listener;
    for (const child of this.children) child.onCommand(listener);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const input = typeof options.input === 'string' ? Buffer.from(options.input) : options.input;
    const started = monotonicMs();
    let answer: RawAnswer;
    if (input === undefined && this.madeLocally(argv, options)) {
      answer = { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutOmitted: 0, stderrOmitted: 0 };
    } else {
      const sent = this.client.send(
        runRequest(this.client.nextNonce(), {
          argv,
          input,
          env: options.env,
          clearEnv: options.clearEnv,
          cwd: options.cwd,
          umask: options.umask,
        }),
        { stdout: options.stdout, stderr: options.stderr, limit: options.outputLimit },
      );
      if (!options.readOnly) this.changing = sent.then(noop, noop);
      answer = await sent;
    }
    if (options.affects) this.forget(options.affects);
    else if (!options.readOnly) this.cache.clear();
    const result: CommandResult = {
      argv,
      exitCode: answer.exitCode,
      stdout: answer.stdout,
      stderr: answer.stderr,
      ...(answer.stdoutOmitted > 0 ? { stdoutOmitted: answer.stdoutOmitted } : {}),
      ...(answer.stderrOmitted > 0 ? { stderrOmitted: answer.stderrOmitted } : {}),
      durationMs: monotonicMs() - started,
    };
    this.listener?.(result);
    return result;
  }

  async readFile(path: string): Promise<Buffer> {
    const cached = this.cache.get(path);
    if (cached && !cached.exists) throw new FileNotFoundError(path);
    if (cached?.content) return cached.content;
    const answer = await this.client.send(readRequest(this.client.nextNonce(), path));
    if (answer.exitCode === 200) throw new FileNotFoundError(path);
    if (answer.exitCode !== 0) {
      throw new ConsfigError(`cannot read ${path}: ${answer.stderr.toString('utf8').trim()}`);
    }
    return answer.stdout;
  }

  async writeFile(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
    if (!path.startsWith('/')) throw new InvalidRequestError(`writeFile needs an absolute path, not ${path}`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    const tmp = tempPathFor(path);
    const plan = this.writePlan(path, options);
    if (this.wroteLocally(path, tmp, bytes, plan)) return;
    const sent = this.client.send(writeRequest(this.client.nextNonce(), { path, tmp, data: bytes, ...plan }));
    this.changing = sent.then(noop, noop);
    const answer = await sent;
    this.forget([path]);
    if (answer.exitCode !== 0) {
      throw new WriteFailedError(path, answer.stderr.toString('utf8').trim() || `exit code ${answer.exitCode}`);
    }
  }

  async lock(options: LockOptions): Promise<void> {
    const taking = this.takeLock(options);
    this.lockPending = true;
    this.locking = taking.catch(() => {}).finally(() => (this.lockPending = false));
    return taking;
  }

  private async takeLock(options: LockOptions): Promise<void> {
    // Each user has a lock of their own (consfig.lock for root, consfig-UID.lock for
    // others): root's file is 0600, and a user's deploy can only change what that user
    // may write anyway. The agent names it, so the request need not wait for its greeting.
    const locker = this.locker();
    const lockError = (answer: { error: string }) =>
      new ConsfigError(`cannot take the deployment lock on ${this.chainText}: ${answer.error}`);
    const tried = await locker.tryTake(options.holder);
    if ('error' in tried) throw lockError(tried);
    if (tried.taken) return;
    const holder = tried.holder || 'another deployment';
    const waitMs = options.run !== undefined && holder.includes(options.run) ? SAME_RUN_WAIT_MS : options.waitMs;
    options.onWait?.(holder, waitMs);
    const waited = await locker.waitTake(waitMs, options.holder);
    if ('error' in waited) throw lockError(waited);
    if (waited.taken) return;
    const still = waited.holder || holder;
    throw new LockedError(
      `${this.chainText} is being deployed by ${still}; gave up after waiting ${formatSeconds(waitMs)}`,
      still,
      this.chainText,
    );
  }

  /** Who takes the lock: this process on this machine (see local-lock.ts), else the agent. */
  private locker(): {
    tryTake(holder: string): LockAnswer | Promise<LockAnswer>;
    waitTake(waitMs: number, holder: string): Promise<LockAnswer>;
  } {
    if (this.inProcess() || this.root) {
      this.localLock ??= (this.root ? this.root.lock() : LocalLock.for(this.options.env ?? process.env)) ?? null;
      if (this.localLock) return this.localLock;
    }
    const answer = (a: RawAnswer): LockAnswer =>
      a.exitCode === 0
        ? { taken: true }
        : a.exitCode === 75
          ? { taken: false, holder: a.stdout.toString('utf8').trim() }
          : { error: a.stderr.toString('utf8').trim() || `exit code ${a.exitCode}` };
    return {
      tryTake: async (holder) => answer(await this.client.send(lockTryRequest(this.client.nextNonce(), holder))),
      waitTake: async (waitMs, holder) =>
        answer(await this.client.send(lockWaitRequest(this.client.nextNonce(), waitMs / 1000, holder))),
    };
  }

  /**
   * A write this process makes itself (local-write.ts), where it may: on this machine, no
   * chown, not too big. False where the agent is to write; a failure here throws.
   */
  private wroteLocally(
    path: string,
    tmp: string,
    data: Buffer,
    plan: { umask: string; mode: string; owner: string; group: string },
  ): boolean {
    const writer = this.inProcess()
      ? writeLocally
      : this.viaRoot()?.writes
        ? (w: LocalWrite) => this.root!.write(w)
        : undefined;
    if (!writer || data.length > LOCAL_WRITE_LIMIT || plan.group !== '') return false;
    if (plan.owner !== '-' && plan.owner !== '') return false;
    if (!this.nothingUnderWay()) return false;
    const mode =
      plan.mode === '-'
        ? 0o666 & ~Number.parseInt(plan.umask, 8)
        : plan.mode === ''
          ? undefined
          : Number.parseInt(plan.mode, 8);
    const outcome = writer({ path, tmp, data, mode, keepOwner: plan.owner === '' });
    if ('unsupported' in outcome) return false;
    this.forget([path]);
    if (!outcome.done) throw new WriteFailedError(path, outcome.error);
    return true;
  }

  /** `mkdir -p DIR` made by this process (local-mkdir.ts), in its turn, as the agent would. */
  private madeLocally(argv: readonly string[], options: RunOptions): boolean {
    if (!(this.inProcess() || this.viaRoot()?.writes) || options.cwd !== undefined || options.clearEnv) return false;
    const dir = mkdirTarget(argv);
    if (dir === undefined) return false;
    if (!this.nothingUnderWay()) return false;
    const umask = Number.parseInt(options.umask ?? '022', 8);
    return this.root ? this.root.mkdirs(dir, umask) : mkdirLocally(dir, umask);
  }

  /**
   * Whether nothing asked for before is under way, so that what this process does at once
   * (a write, a mkdir) neither passes what the agent was asked before nor is passed by it:
   * the agent answers in order.
   */
  private nothingUnderWay(): boolean {
    return !this.closed && !this.client.busy && this.probing === 0 && !this.lockPending;
  }

  /**
   * The target's root where this process reads and writes through it now: a chroot's tree
   * only until its chain starts, whose commands may mount things in its own namespace, out
   * of this process's sight (a container's root is in its namespace, and sees them).
   */
  private viaRoot(): TargetRoot | undefined {
    return this.root && (this.root.seesChainMounts || !this.client.spawned) ? this.root : undefined;
  }

  /** On this machine, with nothing in between: the lock and probes are this process's. */
  private inProcess(): boolean {
    return this.hops.length === 0 && this.options.inProcess !== false;
  }

  /**
   * How to give the new file its mode and owner with the fewest processes, from what the
   * cache knows of the old file. A mode within 0666 is the temp file's creation mode
   * (umask), so no chmod: that temp is world-readable only where the file will be. An
   * owner that is already the agent's needs no chown.
   */
  private writePlan(
    path: string,
    options: WriteOptions,
  ): { umask: string; mode: string; owner: string; group: string } {
    const cached = this.cache.get(path);
    // A link (or anything but a regular file) is replaced, and nothing of it carried over.
    const old = cached?.exists && cached.type !== 'file' ? { path, exists: false } : cached;
    let mode = modeString(options.mode);
    if (mode === undefined && old)
      mode = !old.exists ? '0644' : old.type === 'file' ? modeString(old.mode ?? 0o644) : undefined;
    let umask = '077';
    let chmod = mode ?? '';
    if (mode !== undefined && (Number.parseInt(mode, 8) & ~0o666) === 0) {
      umask = (0o777 & ~Number.parseInt(mode, 8)).toString(8).padStart(3, '0');
      chmod = '-';
    }
    if (options.owner !== undefined || options.group !== undefined) {
      return { umask, mode: chmod, owner: options.owner ?? '', group: options.group ?? '' };
    }
    const { uid, gid } = this.client.info;
    const ours = old !== undefined && (!old.exists || (old.uid === uid && old.gid === gid));
    return { umask, mode: chmod, owner: ours ? '-' : '', group: '' };
  }

  /**
   * Drop what the cache knows about these paths. Below them, existing entries go (rm -rf)
   * but missing ones stay missing (mkdir -p creates nothing below); above them, missing
   * ancestors go (mkdir -p may have created them), existing ones stay.
   */
  private forget(paths: readonly string[]): void {
    for (const path of paths) {
      this.cache.delete(path);
      for (let p = posix.dirname(path); p !== '/' && p !== '.'; p = posix.dirname(p)) {
        if (this.cache.get(p)?.exists === false) this.cache.delete(p);
      }
      const below = path.endsWith('/') ? path : `${path}/`;
      for (const [key, info] of this.cache) if (info.exists && key.startsWith(below)) this.cache.delete(key);
    }
  }

  localPath(path: string): string | undefined {
    let root = '/';
    for (const hop of this.hops) {
      if (!hop.localRoot) return undefined;
      root = hop.localRoot(root);
    }
    return posix.join(root, path);
  }

  async stat(path: string): Promise<FileInfo> {
    const cached = this.cache.get(path);
    if (cached) return cached;
    const found = await this.probe([{ path }]);
    return found.get(path)!;
  }

  async probe(queries: readonly ProbeQuery[]): Promise<Map<string, FileInfo>> {
    const result = new Map<string, FileInfo>();
    const unique = new Map<string, boolean>();
    for (const q of queries) {
      if (q.path.includes('\0')) throw new InvalidRequestError('a path cannot contain a NUL byte');
      // find(1) would take a path such as -name or ! for part of its expression.
      if (!q.path.startsWith('/')) throw new InvalidRequestError(`probe needs absolute paths, not ${q.path}`);
      unique.set(q.path, (unique.get(q.path) ?? false) || (q.content ?? false));
    }
    if (unique.size === 0) return result;
    const root = this.viaRoot();
    if (root ? root.answers(unique.keys()) : this.inProcess() && localProbeAvailable()) {
      // The agent answers in order, so its reads follow the lock, commands and writes
      // asked for before them; these must too, or they could see another deployment's
      // half-done work, or miss a write of this one.
      this.probing++;
      let found: Map<string, FileInfo> | undefined;
      try {
        await this.locking;
        await this.changing;
        found = root ? root.probe(unique) : await probeLocally(unique);
      } finally {
        this.probing--;
      }
      // (undefined: a chroot's path the chain mounts over, which its agent reads)
      if (found) {
        for (const [path, info] of found) {
          this.cache.set(path, info);
          result.set(path, info);
        }
        return result;
      }
    }
    // Batches small enough for one xargs command line; written at once, answered in order.
    const batches: { path: string; content: boolean }[][] = [[]];
    let bytes = 0;
    for (const [path, content] of unique) {
      const size = Buffer.byteLength(path) + 1;
      if (bytes + size > PROBE_BYTES_LIMIT && batches.at(-1)!.length > 0) {
        batches.push([]);
        bytes = 0;
      }
      batches.at(-1)!.push({ path, content });
      bytes += size;
    }
    const answers = await Promise.all(
      batches.map((batch) => this.client.send(probeRequest(this.client.nextNonce(), batch))),
    );
    for (const [i, batch] of batches.entries()) {
      const parsed = parseProbe(
        batch.map((b) => b.path),
        answers[i]!.stdout,
      );
      for (const path of parsed.reread) {
        const entry = parsed.entries.get(path)!;
        try {
          entry.content = await this.readFile(path);
          entry.size = entry.content.length;
        } catch (error) {
          if (!(error instanceof FileNotFoundError)) throw error;
          parsed.entries.set(path, { path, exists: false });
        }
      }
      for (const [path, info] of parsed.entries) {
        this.cache.set(path, info);
        result.set(path, info);
      }
    }
    return result;
  }

  async extend(via: Hop | readonly Hop[]): Promise<Connection> {
    const more: readonly Hop[] = Array.isArray(via) ? via : [via as Hop];
    const child = await openAgentConnection([...this.hops, ...more], this.options, this.hops.length);
    child.onCommand(this.listener);
    this.children.push(child);
    return child;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.children.map((c) => c.close()));
    await this.client.close();
    this.localLock?.release();
    this.root?.close();
    for (const hop of this.hops.slice(this.ownFrom)) await hop.cleanup?.();
  }

  /**
   * Kill the chain and its extensions at once (interrupt). Where a hop is remote, or the
   * agent is one an earlier run kept, a fresh chain (multiplexed or attached, so cheap)
   * first kills the agent's process group there.
   */
  async abort(): Promise<void> {
    await Promise.all(this.children.map((child) => child.abort()));
    const { pgid } = this.client.info;
    if ((this.hops.some((h) => h.remote) || this.client.attached) && pgid > 1 && this.client.alive) {
      try {
        const killer = await withTimeout(openAgentConnection(this.hops, this.options, this.hops.length), 5000);
        // The shell's kill: a minimal root filesystem may have no kill(1).
        await withTimeout(killer.run(['sh', '-c', 'kill -TERM "$1"', 'sh', `-${pgid}`]), 5000).catch(() => {});
        this.client.kill();
        await killer.close();
      } catch {
        // the target is unreachable: nothing more to do there
      }
    }
    this.client.kill();
    await this.client.close(1000).catch(() => {});
    this.localLock?.release();
    this.root?.close();
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
