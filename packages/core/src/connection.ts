/**
 * The connection interface that properties do all their I/O through, and hops: the
 * pieces of a chain. A hop wraps the argv of whatever runs after it (`ssh HOST -- …`,
 * `sudo -u U -- …`, `chroot DIR …`), so a whole chain is one process chain ending in
 * one agent shell on the target.
 */

/** The kinds of file a stat tells apart. */
export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

/** A path's metadata (and content, when asked for) as the target reported it. */
export interface FileInfo {
  path: string;
  exists: boolean;
  type?: FileType;
  /** Permission bits including setuid/setgid/sticky, e.g. 0o4755. */
  mode?: number;
  uid?: number;
  gid?: number;
  user?: string;
  group?: string;
  size?: number;
  /** For symlinks: where the link points. */
  target?: string;
  /** For regular files when content was asked for and could be read. */
  content?: Buffer;
}

/** A writable that may ask for a pause (Node's streams: false from write, then 'drain'). */
export interface OutputSink {
  write(chunk: Uint8Array): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Asks the person at the controlling terminal, the answer not echoed (a password). The
 * CLI provides one; an embedding program may give its own; without one nobody is asked.
 */
export type Ask = (question: string) => Promise<string>;

export interface HopContext {
  /** Index of this hop in its chain: 0 runs on the deploying machine. */
  readonly position: number;
  /** The chain up to and including this hop, as text (for questions and messages). */
  readonly chain: string;
  readonly ask?: Ask | undefined;
  /** Ask for the passwords of hops that have none configured (`consfig -K`). */
  readonly askPasswords?: boolean | undefined;
  /** Prerequisite data of the deployment, by its two identifiers. */
  readonly data?: ((iden1: string, iden2: string) => Promise<Buffer>) | undefined;
  /**
   * Seconds a hop may keep what it connected for the next run (ssh's master);
   * undefined: the hop's own setting, else nothing outlives the run.
   */
  readonly keepConnections?: number | undefined;
  /**
   * Set for the last hop of a chain whose hop declares `front`: its helper may run the
   * agent behind FRONT_PERL (`front($arch, @agent)`, see `@consfig/core/hop`).
   */
  readonly front?: boolean | undefined;
}

/** A target whose files are a directory of this machine's: see Hop.targetTree. */
export interface TargetTree {
  /** The directory, which the target sees as "/". */
  readonly dir: string;
  /** Paths inside that the chain mounts over (its /proc, /run...): only the chain sees those. */
  readonly mountedOver: readonly string[];
  /** The directory here that the chain mounts on the target's /run/lock (where its lock is). */
  readonly runLock: string;
  /** The environment the chain gives the agent (its PATH). */
  readonly env: Readonly<Record<string, string>>;
}

export interface Hop {
  /** Short kind name: `local`, `ssh`, `sudo`, `chroot`… */
  readonly kind: string;
  /** How the hop reads in messages and in the CLI's chain syntax, e.g. `ssh:root@web1`. */
  describe(): string;
  /** argv that runs `inner` through this hop. */
  wrap(inner: readonly string[], context: HopContext): readonly string[];
  /**
   * Its helper is perl and, when last in the chain and the context says `front`, runs the
   * agent behind FRONT_PERL, which answers what most deployments ask without the agent's
   * shell (core's agent/front.ts). Where the last hop has none, the chain starts perl with
   * the front in front of the agent.
   */
  readonly front?: boolean;
  /**
   * For the hop first in a chain, started on this machine: its helper as `perl -e TEXT --
   * ARGS`, where TEXT is the same for every chain of its kind. It then runs in a copy forked
   * from one perl per run that compiled TEXT once (core's agent/forker.ts) instead of a
   * process of its own; where there is no perl here, `wrap`'s argv is started.
   */
  fork?(inner: readonly string[], context: HopContext): readonly string[];
  /**
   * For the hop first in a chain, started on this machine: the path of a Unix socket where
   * an agent kept by an earlier run may listen (its helper keeps one, as ssh keeps a
   * master), for `inner` as `fork` is given it. A chain then connects there before it
   * starts anything, and starts the helper where nothing answers (core's
   * agent/attached-chain.ts has the protocol). The socket's directory holds only such
   * sockets: those nothing listens on are removed when a new agent is to be kept.
   */
  agentSocket?(inner: readonly string[], context: HopContext): string | undefined;
  /**
   * For the hop first in a chain, deployed by root on this machine: the pid of a process
   * whose root, mounts and user namespace are the target's (a container's init), found
   * without starting anything, or undefined. The deployment's lock and probes are then
   * made by consfig's own process through that root (agent/target-root.ts), and the chain
   * is started only for a write or a command.
   */
  targetPid?(): Promise<number | undefined>;
  /**
   * For the hop first in a chain, deployed by root on this machine: the target's files as
   * a directory here (a chroot's tree), or undefined. The deployment's lock, probes,
   * `mkdir -p` and most writes are then made by consfig's own process in that directory
   * (agent/target-root.ts), and the chain is started only for a command.
   */
  targetTree?(): TargetTree | undefined;
  /** Bytes the hop's process reads from stdin before the agent starts (a password). */
  preamble?(context: HopContext): Buffer | undefined | Promise<Buffer | undefined>;
  /**
   * The hop reaches another machine (ssh): killing the local chain does not stop what
   * runs there, so an interrupt also kills the agent's process group on the target.
   */
  readonly remote?: boolean;
  /**
   * Where the previous hop's root is on the deploying machine's filesystem, after this
   * hop: unchanged for hops that only switch user, the chroot's directory for chroot.
   * Absent where the target's files are not local (ssh, namespaces).
   */
  localRoot?(outer: string): string;
  /** Called once after the chain has ended (e.g. close an ssh ControlMaster). */
  cleanup?(): Promise<void>;
  /** A hint for a chain that failed with this stderr, where the hop knows what helps. */
  explain?(stderr: string): string | undefined;
}

export interface RunOptions {
  /** Data for the command's stdin (never shown in logs or events). */
  input?: string | Uint8Array;
  env?: Readonly<Record<string, string>>;
  /** Start from an empty environment plus `env`. */
  clearEnv?: boolean;
  cwd?: string;
  umask?: string;
  /**
   * The command changes nothing (a check). Other commands may change files, so they
   * drop what the connection has cached about the target's files.
   */
  readOnly?: boolean;
  /**
   * The command changes only these paths (and what is below them): the cache keeps
   * what it knows about everything else.
   */
  affects?: readonly string[];
  /** Stream stdout here as it arrives (bytes as they are), instead of collecting it. */
  stdout?: OutputSink;
  stderr?: OutputSink;
  /**
   * Bytes of each collected stream to keep: the first and last halves, the middle only
   * counted (`stdoutOmitted`). Default: all of it.
   */
  outputLimit?: number;
}

export interface CommandResult {
  argv: readonly string[];
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** Bytes `outputLimit` left out of the middle of stdout and stderr. */
  stdoutOmitted?: number;
  stderrOmitted?: number;
  durationMs: number;
}

export interface LockOptions {
  /** What the lock file says while held: who holds it (shown to whoever waits). */
  holder: string;
  /** How long to wait for another holder before failing (LockedError). */
  waitMs: number;
  /**
   * Text that marks holders of this same run (two hosts of one deployment on one
   * machine): such a holder will finish, so it is waited for without a bound.
   */
  run?: string;
  /** Called once, when another holder has the lock, before waiting for it that long. */
  onWait?(holder: string, waitMs: number): void;
}

export interface WriteOptions {
  /** Octal string or number, e.g. '0644' or 0o644. Default: keep the old mode, else 0644. */
  mode?: string | number;
  owner?: string;
  group?: string;
}

export interface ProbeQuery {
  path: string;
  /** Also fetch the content of regular files. */
  content?: boolean;
}

export interface CommandEvent {
  argv: readonly string[];
  exitCode: number;
  durationMs: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** What properties see of the target. */
export interface Connection {
  /** The chain, e.g. `local` or `ssh:root@web1 → sudo`. */
  readonly chainText: string;
  readonly hops: readonly Hop[];
  /** uid and gid of the agent on the target. */
  readonly uid: number;
  readonly gid: number;
  /**
   * PID of the agent on the target (in the target's PID namespace); 0 on this machine until
   * something needs the agent (a command: the lock, probes and writes are this process's
   * own there).
   */
  readonly pid: number;

  /** Run argv (no shell). Never throws for a non-zero exit; see `exitCode`. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Contents of a file; throws FileNotFoundError when it does not exist. */
  readFile(path: string): Promise<Buffer>;
  /** Atomically replace a file (temp file in the same directory, mode set, renamed). */
  writeFile(path: string, data: string | Uint8Array, options?: WriteOptions): Promise<void>;
  /** lstat of one path (served from the probe cache when possible). */
  stat(path: string): Promise<FileInfo>;
  /**
   * The path on the deploying machine that is `path` on the target, when the target's
   * files are local (a local chain of user switches and chroots), for work done in
   * process (id shifting).
   */
  localPath(path: string): string | undefined;
  /** Fetch many paths' metadata (and content) in one round trip, and cache it. */
  probe(queries: readonly ProbeQuery[]): Promise<Map<string, FileInfo>>;
  /**
   * Take the target's deployment lock for the rest of this connection's life (a lock
   * file under /run/lock, held by the agent: it goes when the agent goes, however it
   * ends). Waits up to `waitMs` for another holder, then throws LockedError.
   */
  lock(options: LockOptions): Promise<void>;
  /**
   * A connection with one more hop (as another user, into a chroot…), or several (ssh
   * then sudo): one process chain. Shares the lifetime.
   */
  extend(via: Hop | readonly Hop[]): Promise<Connection>;
  /** Observe every command run through this connection (and its extensions). */
  onCommand(listener: ((event: CommandEvent) => void) | undefined): void;
  close(): Promise<void>;
  /** Stop at once (an interrupt): kill the chain, and what it runs on a remote target. */
  abort(): Promise<void>;
}

/** Text form of a chain. */
export function describeChain(hops: readonly Hop[]): string {
  return hops.length === 0 ? 'local' : hops.map((h) => h.describe()).join(' → ');
}
