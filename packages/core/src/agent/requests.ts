/**
 * Builders for the agent's request lines (see program.ts). Each returns the line, the
 * bytes that follow it on stdin (if any) and a description for debug output that never
 * includes file contents or stdin data.
 */
import { InvalidRequestError } from '../errors.js';
import { quoteWord, quoteWords } from './shell-quote.js';

export interface Request {
  nonce: string;
  line: Buffer;
  payload?: Buffer | undefined;
  /** What debug output and events may show. */
  describe: string;
  /** A front answers it (front.ts); any other request first switches to the shell. */
  front?: true;
  /** The same request as a front takes it, where its line is the shell's only. */
  frontLine?: Buffer;
  /** The bytes that follow `frontLine`. */
  frontPayload?: Buffer;
  /** A command: a front runs only the first few (client.ts). */
  frontRun?: true;
}

export interface RunSpec {
  argv: readonly string[];
  input?: Uint8Array | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  clearEnv?: boolean | undefined;
  cwd?: string | undefined;
  /** umask for the command; the agent itself keeps 077 for its temp files. */
  umask?: string | undefined;
}

export interface WriteSpec {
  path: string;
  tmp: string;
  data: Uint8Array;
  /** umask the temp file is created under (default 077: never world-readable). */
  umask?: string | undefined;
  /** chmod the temp to this; '' keeps the old file's mode (0644 when new); '-' nothing. */
  mode?: string | undefined;
  /** '' (with group '') keeps the old file's owner; '-' changes nothing. */
  owner?: string | undefined;
  group?: string | undefined;
}

/** Inline writes avoid a `head` process; above this size, or with NULs, data streams. */
export const INLINE_WRITE_LIMIT = 64 * 1024;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The directory of `mkdir -p [--] DIR` with DIR absolute; undefined for any other command. */
export function mkdirTarget(argv: readonly string[]): string | undefined {
  const words = argv.length === 4 && argv[2] === '--' ? [argv[0], argv[1], argv[3]] : argv;
  if (words.length !== 3 || words[0] !== 'mkdir' || words[1] !== '-p') return undefined;
  return words[2]!.startsWith('/') ? words[2] : undefined;
}

/**
 * Names a POSIX shell (dash, bash, busybox ash) may run itself rather than as a program:
 * builtins and special builtins. A command of such a name is exec'd from a subshell, where
 * it is looked up as a program.
 */
export const SHELL_OWN: ReadonlySet<string> = new Set(
  (
    '. : [ [[ alias bg bind break builtin caller cd chdir command compgen complete compopt continue ' +
    'declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history ' +
    'jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift ' +
    'shopt source suspend test times trap true type typeset ulimit umask unalias unset wait'
  ).split(' '),
);

/**
 * Whether the command may run as the agent's simple command: forked more cheaply than a
 * subshell that execs it (here ~2 against ~3.5 ms a command). Not where the subshell is
 * needed: a working directory, a cleared environment, a PATH of its own (whose use in the
 * lookup shells differ on), a name the shell would run itself or take for an assignment.
 */
function simpleCommand(spec: RunSpec, env: [string, string][]): boolean {
  // (front.ts decides so too, for dash's words where the command cannot be run)
  const name = spec.argv[0]!;
  return (
    spec.cwd === undefined &&
    !spec.clearEnv &&
    !env.some(([k]) => k === 'PATH') &&
    name !== '' &&
    !name.includes('=') &&
    !name.startsWith('__c_') &&
    !SHELL_OWN.has(name)
  );
}

/** An absolute directory with no empty, `.` or `..` component, nor a trailing slash. */
const CLEAN_DIR = /^(?:\/|(?:\/(?!\.\.?(?:\/|$))[^/]+)+)$/;
const UMASK = /^[0-7]{3,4}$/;

function line(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat([...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)), Buffer.from('\n')]);
}

export function runRequest(nonce: string, spec: RunSpec): Request {
  if (spec.argv.length === 0) throw new InvalidRequestError('run needs a non-empty argv');
  const setup: Buffer[] = [Buffer.from(`umask ${spec.umask ?? '022'}; `)];
  if (spec.umask !== undefined && !UMASK.test(spec.umask)) throw new InvalidRequestError(`bad umask ${spec.umask}`);
  if (spec.cwd !== undefined) setup.push(Buffer.from('cd -- '), quoteWord(spec.cwd), Buffer.from(' || exit 1; '));
  const env = Object.entries(spec.env ?? {});
  for (const [name] of env) {
    if (!ENV_NAME.test(name)) throw new InvalidRequestError(`bad environment variable name ${JSON.stringify(name)}`);
  }
  let command: Buffer;
  if (spec.clearEnv) {
    if (spec.argv[0]!.includes('='))
      throw new InvalidRequestError('with clearEnv the command name may not contain "="');
    command = Buffer.concat([
      Buffer.from('exec env -i '),
      quoteWords([...env.map(([k, v]) => `${k}=${v}`), ...spec.argv]),
    ]);
  } else {
    for (const [k, v] of env) setup.push(Buffer.from(`export ${k}=`), quoteWord(v), Buffer.from('; '));
    command = Buffer.concat([Buffer.from('exec '), quoteWords(spec.argv)]);
  }
  // fds 5 and 6 are the agent's renamer or finisher, 7 its lock: a daemon holding them
  // would keep the renamer or finisher alive, or the lock held after the deployment.
  const body = Buffer.concat([Buffer.from('( '), ...setup, command, Buffer.from(' ) 5>&- 6<&- 7>&-')]);
  const end = Buffer.concat([Buffer.from('; __c_end '), quoteWord(nonce)]);
  const describe = spec.argv.join(' ');
  if (spec.input === undefined) {
    // The umask set around a simple command, and the agent's own (077) put back after it.
    const shellLine = simpleCommand(spec, env)
      ? line(
          `umask ${spec.umask ?? '022'}; `,
          ...env.map(([k, v]) => Buffer.concat([Buffer.from(`${k}=`), quoteWord(v), Buffer.from(' ')])),
          quoteWords(spec.argv),
          ' 5>&- 6<&- 7>&- </dev/null; __c_rs=$?; umask 077; __c_ret "$__c_rs"',
          end,
        )
      : line(body, ' </dev/null', end);
    const request: Request = { nonce, line: shellLine, describe };
    // The front runs it too where the shell's `cd` would make PWD exactly the directory.
    if (spec.cwd === undefined || CLEAN_DIR.test(spec.cwd)) {
      request.frontLine = line(
        '__c_run ',
        quoteWords([
          nonce,
          spec.umask ?? '022',
          spec.cwd ?? '',
          spec.clearEnv ? '1' : '0',
          String(env.length),
          ...env.map(([k, v]) => `${k}=${v}`),
          ...spec.argv,
        ]),
      );
      // A mkdir -p the front makes itself (front_mkdir) costs it no fork: not counted.
      if (spec.cwd !== undefined || mkdirTarget(spec.argv) === undefined) request.frontRun = true;
    }
    return request;
  }
  // The command might not read all of its input: drain the rest so the bytes never
  // reach the agent's next `read`.
  const n = spec.input.length;
  return {
    nonce,
    line: line(`head -c ${n} | { `, body, '; __c_r=$?; cat >/dev/null; exit "$__c_r"; }', end),
    payload: Buffer.from(spec.input),
    describe: `${describe} (stdin ${n} bytes)`,
  };
}

export function readRequest(nonce: string, path: string): Request {
  return { nonce, line: line('__c_read ', quoteWords([nonce, path])), describe: `read ${path}` };
}

export function writeRequest(nonce: string, spec: WriteSpec): Request {
  const words = [nonce, spec.path, spec.tmp, spec.mode ?? '', spec.owner ?? '', spec.group ?? ''];
  const mode = spec.mode && spec.mode !== '-' ? `, mode ${spec.mode}` : '';
  const describe = `write ${spec.path} (${spec.data.length} bytes${mode})`;
  const umask = spec.umask ?? '077';
  if (!UMASK.test(umask)) throw new InvalidRequestError(`bad umask ${umask}`);
  // The umask applies to creating the temp file only; the agent's own is 077.
  const [pre, post] = umask === '077' ? ['', ''] : [`umask ${umask}; `, '; umask 077'];
  const data = Buffer.from(spec.data);
  // A front reads the data after its line, always: it has no line length to mind.
  const front = {
    frontLine: line('__c_wf ', quoteWords([nonce, umask, ...words.slice(1), String(data.length)])),
    frontPayload: data,
  };
  if (data.length <= INLINE_WRITE_LIMIT && !data.includes(0)) {
    return { nonce, line: line(pre, '__c_wi ', quoteWords([...words, data]), post), describe, ...front };
  }
  return {
    nonce,
    line: line(pre, '__c_ws ', quoteWords([...words, String(data.length)]), post),
    payload: data,
    describe,
    ...front,
  };
}

export interface ProbeSpec {
  path: string;
  content: boolean;
}

/**
 * Few paths travel as words of the line, answered by the agent shell with one find and
 * one cat. Many travel NUL-separated after it, read in bulk by `head`: the shell reads a
 * line one read(2) per byte, which costs more than head's processes beyond a few KiB.
 * Metadata-only paths go first; the count tells the agent where the paths whose content
 * is wanted begin.
 */
export function probeRequest(nonce: string, specs: readonly ProbeSpec[]): Request {
  const ordered = [...specs.filter((s) => !s.content), ...specs.filter((s) => s.content)];
  const metaCount = String(specs.length - specs.filter((s) => s.content).length);
  const describe = `probe ${specs.length} path${specs.length === 1 ? '' : 's'}`;
  const payload = Buffer.concat(ordered.map((s) => Buffer.from(`${s.path}\0`, 'utf8')));
  if (payload.length <= PROBE_INLINE_BYTES && specs.length <= PROBE_INLINE_PATHS) {
    return {
      nonce,
      line: line('__c_probe ', quoteWords([nonce, metaCount, ...ordered.map((s) => s.path)])),
      describe,
      front: true,
    };
  }
  return {
    nonce,
    line: line('__c_probe_big ', quoteWords([nonce, String(payload.length), metaCount])),
    payload,
    describe,
    front: true,
  };
}

/**
 * Path bytes and paths up to which a probe's paths go on the request line (the agent
 * collects the readable ones with `set -- "$@" p`, quadratic in their number).
 */
export const PROBE_INLINE_BYTES = 4096;
export const PROBE_INLINE_PATHS = 64;
/** Path bytes per probe request, well below what xargs passes to one command. */
export const PROBE_BYTES_LIMIT = 64 * 1024;

export function helloRequest(nonce: string): Request {
  return { nonce, line: line('__c_hello ', quoteWord(nonce)), describe: 'hello', front: true };
}

/** From a front to the agent's shell (front.ts); nothing to do for an agent without one. */
export function switchRequest(nonce: string): Request {
  return { nonce, line: line('__c_sh ', quoteWord(nonce)), describe: 'start the shell', front: true };
}

/** Take the deployment lock at once, or answer 75 with what its holder wrote. */
export function lockTryRequest(nonce: string, info: string): Request {
  return { nonce, line: line('__c_lock_try ', quoteWords([nonce, info])), describe: 'lock', front: true };
}

/** Wait up to `seconds` for the lock; 75 with the holder's text when it stays taken. */
export function lockWaitRequest(nonce: string, seconds: number, info: string): Request {
  return {
    nonce,
    line: line('__c_lock_wait ', quoteWords([nonce, String(Math.max(0, Math.ceil(seconds))), info])),
    describe: `wait ${seconds}s for the lock`,
    front: true,
  };
}
