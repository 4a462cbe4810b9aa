/**
 * One perl per run for many chains of one helper: a hop whose chain is `perl -e TEXT --
 * ARGS` started on this machine (entering a container) costs perl's start and the
 * compiling of TEXT (~10 ms of CPU here, most of it page faults) every time. The forker
 * compiles TEXT once and forks a copy of itself for each chain, which takes the chain's
 * pipes, arguments and environment and runs TEXT as the exec'd helper would: 50 containers
 * entered from one deploy pay for one perl start instead of 50.
 *
 * The chain's stdio are pipes of this process that the forked copy opens through
 * /proc/PID/fd (a pipe can be opened there, a socket cannot): the forker runs as this
 * process's user, which may. Its reports come back on its stdout, a line each.
 */
import { Socket } from 'node:net';
import { type Readable, type Writable } from 'node:stream';
import { closeFd, pipe, posixSpawn, reap } from '../native/posix-spawn.js';
import { defaultSpawnMethod, findExecutable, StreamedChain, type ChainProcess } from './spawn-chain.js';

/**
 * The forker's loop, put before TEXT (at file scope, so TEXT's own `my` variables and
 * subs work as in `perl -e TEXT`). Requests on stdin, NUL-terminated fields: an id, the
 * chain's stdin, stdout and stderr as fds of the parent, the argument count and arguments,
 * the environment's count and entries. Reports: `ID pid PID` once forked, `ID open` once
 * the copy holds the pipes, `ID exit CODE` or `ID signal N` when it has ended, `ID fail
 * WHY`. A copy leaves the block and runs TEXT; the forker exits at the end of its input
 * (the copies run on).
 */
export const FORKER_PERL = String.raw`FORKER: {
  my ($fk_buf, %fk_kids, %fk_early, $fk_warm) = ('');
  my $fk_report = sub { syswrite(STDOUT, $_[0]) };
  # Reaped in the handler, so an exit is reported while the loop waits for a request;
  # a child gone before its id was noted is reported when it is.
  local $SIG{CHLD} = sub {
    while ((my $k = waitpid(-1, 1)) > 0) {
      my $how = $? & 127 ? 'signal ' . ($? & 127) : 'exit ' . ($? >> 8);
      if (defined(my $id = delete $fk_kids{$k})) { $fk_report->("$id $how\n") } else { $fk_early{$k} = $how }
    }
  };
  my $fk_field = sub {
    my $nul;
    while (($nul = index($fk_buf, "\0")) < 0) {
      my $n = sysread(STDIN, $fk_buf, 65536, length $fk_buf);
      next if !defined $n && $! == 4;
      exit 0 unless $n;
    }
    my $f = substr($fk_buf, 0, $nul + 1, '');
    chop $f;
    $f;
  };
  my $fk_parent = getppid();
  while (1) {
    my ($id, @fds) = map { $fk_field->() } 1 .. 4;
    my @args = map { $fk_field->() } 1 .. $fk_field->();
    my @env = map { $fk_field->() } 1 .. $fk_field->();
    my $pid = fork();
    if (!defined $pid) { $fk_report->("$id fail fork: $!\n"); next }
    if ($pid) {
      $fk_report->("$id pid $pid\n");
      $fk_kids{$pid} = $id;
      if (defined(my $how = delete $fk_early{$pid})) { delete $fk_kids{$pid}; $fk_report->("$id $how\n") }
      # While the first copy enters: the front's later half (commands, writes) compiled
      # here, once, for the copies forked after it (each compiled it on its first command).
      eval { front_later() } if !$fk_warm++ && defined &front_later;
      next;
    }
    $SIG{CHLD} = 'DEFAULT';
    # A process group of its own, as the exec'd helper's session: the chain is killed as one.
    setpgrp(0, 0);
    my @fh;
    for ([$fds[0], '<'], [$fds[1], '>>'], [$fds[2], '>>']) {
      open(my $fh, $_->[1], "/proc/$fk_parent/fd/$_->[0]") or do {
        $fk_report->("$id fail cannot open its pipes: $!\n");
        exit 111;
      };
      push @fh, $fh;
    }
    $fk_report->("$id open\n");
    open(STDIN, '<&', $fh[0]) && open(STDOUT, '>&', $fh[1]) && open(STDERR, '>&', $fh[2]) or exit 111;
    close($_) for @fh;
    @ARGV = @args;
    %ENV = map { split(/=/, $_, 2) } @env;
    last FORKER;
  }
}
`;

type Report = 'pid' | 'open' | 'exit' | 'signal' | 'fail';

/** One forker per helper text (and environment of its own start). */
const forkers = new Map<string, Forker>();

/**
 * How long a forker with no chain waits for the next before it ends: a run starts its
 * chains within this; a program that embeds consfig keeps no idle perl for good.
 */
let idleMs = 10_000;

/** Set the idle time (tests). */
export function setForkerIdleMs(ms: number): void {
  idleMs = ms;
}

/**
 * `argv` (`perl -e TEXT -- ARGS`) as a chain forked from the forker of TEXT, or undefined
 * where it cannot be (another shape, no perl, no posix_spawn here: the caller spawns it).
 */
export function forkChain(argv: readonly string[], env: NodeJS.ProcessEnv): ChainProcess | undefined {
  if (argv.length < 4 || argv[0] !== 'perl' || argv[1] !== '-e' || argv[3] !== '--') return undefined;
  if (defaultSpawnMethod() !== 'posix_spawn') return undefined;
  const text = argv[2]!;
  let forker = forkers.get(text);
  if (!forker?.usable) {
    const path = findExecutable('perl', env);
    if (path === undefined) return undefined;
    forker = Forker.start(path, text, env);
    if (!forker) return undefined;
    forkers.set(text, forker);
  }
  return forker.fork(argv.slice(4), env);
}

class Forker {
  private readonly chains = new Map<string, ForkedChain>();
  private next = 0;
  private reports = '';
  private stderrTail = '';
  private ended = false;
  private idle: NodeJS.Timeout | undefined;
  /** Its input ended for idleness: the next chain starts another forker. */
  private closing = false;

  private constructor(
    private readonly pid: number,
    private readonly stdin: Socket,
    private readonly stdout: Socket,
    stderr: Socket,
  ) {
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => this.onReports(chunk));
    stderr.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000)));
    stdout.on('close', () => this.end());
    stdin.on('error', () => this.end());
    // Idle, it keeps nothing alive: this process may exit, which ends its input and so it.
    for (const s of [stdin, stdout, stderr]) s.unref();
  }

  static start(path: string, text: string, env: NodeJS.ProcessEnv): Forker | undefined {
    const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const started = posixSpawn(path, ['perl', '-e', `${FORKER_PERL}${text}`], envp);
    if (typeof started === 'number') return undefined;
    // Not watched for its exit (which would keep this process alive while it waits for
    // requests): it ends with its input, at the latest when this process exits.
    return new Forker(
      started.pid,
      new Socket({ fd: started.stdin, readable: false, writable: true }),
      new Socket({ fd: started.stdout, readable: true, writable: false }),
      new Socket({ fd: started.stderr, readable: true, writable: false }),
    );
  }

  get usable(): boolean {
    return !this.ended && !this.closing;
  }

  fork(args: readonly string[], env: NodeJS.ProcessEnv): ChainProcess | undefined {
    const ends = chainPipes();
    if (!ends) return undefined;
    const id = (this.next++).toString(36);
    clearTimeout(this.idle);
    const chain = new ForkedChain(ends, () => this.settled(id));
    this.chains.set(id, chain);
    const entries = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const fields = [id, ...ends.theirs.map(String), String(args.length), ...args, String(entries.length), ...entries];
    this.stdout.ref();
    this.stdin.write(fields.map((f) => `${f}\0`).join(''));
    return chain;
  }

  private settled(id: string): void {
    this.chains.delete(id);
    if (this.chains.size > 0) return;
    this.stdout.unref();
    // Its input ended, it exits (its end() then reaps it); unless a chain comes first.
    this.idle = setTimeout(() => {
      this.closing = true;
      this.stdin.end();
    }, idleMs).unref();
  }

  private onReports(chunk: string): void {
    this.reports += chunk;
    let nl: number;
    while ((nl = this.reports.indexOf('\n')) >= 0) {
      const line = this.reports.slice(0, nl);
      this.reports = this.reports.slice(nl + 1);
      const [id, kind, ...rest] = line.split(' ');
      this.chains.get(id!)?.report(kind as Report, rest.join(' '));
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idle);
    for (const s of [this.stdin, this.stdout]) s.destroy();
    forkers.forEach((f, text) => f === this && forkers.delete(text));
    // Ended while this process runs (killed): reaped here, not left a zombie.
    const reaper = (tries: number) => {
      if (reap(this.pid) === undefined && tries > 0) setTimeout(() => reaper(tries - 1), 200).unref();
    };
    reaper(10);
    const why = this.stderrTail.trim() || 'the forker ended';
    for (const chain of this.chains.values()) chain.forkerEnded(why);
  }
}

interface ChainEnds {
  /** This process's ends: the chain's stdin (written), stdout and stderr (read). */
  ours: [number, number, number];
  /** The forked copy's ends, open here until it has opened them through /proc. */
  theirs: [number, number, number];
}

function chainPipes(): ChainEnds | undefined {
  const made: [number, number][] = [];
  for (let i = 0; i < 3; i++) {
    const p = pipe();
    if (typeof p !== 'object') {
      for (const fds of made) for (const fd of fds) closeFd(fd);
      return undefined;
    }
    made.push(p);
  }
  const [stdin, stdout, stderr] = made as [[number, number], [number, number], [number, number]];
  return { ours: [stdin[1], stdout[0], stderr[0]], theirs: [stdin[0], stdout[1], stderr[1]] };
}

class ForkedChain extends StreamedChain {
  pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  private theirs: number[] | undefined;
  /** The forker ended while this chain ran: its end is learnt from its output's. */
  private orphaned = false;

  constructor(
    ends: ChainEnds,
    private readonly done: () => void,
  ) {
    super();
    this.theirs = ends.theirs;
    this.stdin = new Socket({ fd: ends.ours[0], readable: false, writable: true });
    this.stdout = new Socket({ fd: ends.ours[1], readable: true, writable: false });
    this.stderr = new Socket({ fd: ends.ours[2], readable: true, writable: false });
    this.watchStreams();
  }

  report(kind: Report, rest: string): void {
    if (kind === 'pid') this.pid = Number(rest);
    else if (kind === 'open') this.closeTheirs();
    else if (kind === 'exit' || kind === 'signal') {
      this.closeTheirs();
      this.done();
      const n = Number(rest);
      this.exited(kind === 'exit' ? { code: n, signal: null } : { code: null, signal: n });
    } else if (kind === 'fail') this.failed(rest);
  }

  forkerEnded(why: string): void {
    if (this.theirs) this.failed(why);
    else this.orphaned = true;
  }

  protected override outputClosed(): void {
    if (this.orphaned) this.exited(null);
  }

  private failed(why: string): void {
    this.closeTheirs();
    this.done();
    this.emit('error', new Error(why));
    this.exited(null);
  }

  /** Its ends closed here: the chain's output ends when the forked copy's does. */
  private closeTheirs(): void {
    if (!this.theirs) return;
    for (const fd of this.theirs) closeFd(fd);
    this.theirs = undefined;
  }
}
