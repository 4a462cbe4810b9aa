/**
 * Every failure consfig reports is one of these classes. Each carries a stable `code`
 * for programs and the context a person needs: host, property, command, exit code and
 * stderr. Messages are one line; callers (the CLI) decide how much more to show.
 */

export interface ErrorContext {
  /** Name of the host being configured. */
  host?: string | undefined;
  /** Description of the property being applied. */
  property?: string | undefined;
  cause?: unknown;
}

/**
 * Marks consfig's errors across copies of this package (a config that resolves its own
 * @consfig/core): `instanceof` sees only one copy's classes; the brand, all.
 */
const BRAND = Symbol.for('consfig.error');

/**
 * The codes consfig's errors carry (docs/errors.md says what each means). Other packages'
 * subclasses may bring codes of their own, hence the open end.
 */
export type ConsfigErrorCode =
  | 'CONSFIG_ABORTED'
  | 'CONSFIG_AGENT_PROTOCOL'
  | 'CONSFIG_CANNOT_UNAPPLY'
  | 'CONSFIG_COMMAND_FAILED'
  | 'CONSFIG_CONFIG_INVALID'
  | 'CONSFIG_CONNECTION_FAILED'
  | 'CONSFIG_CONNECTION_LOST'
  | 'CONSFIG_ERROR'
  | 'CONSFIG_FILE_NOT_FOUND'
  | 'CONSFIG_IDSHIFT'
  | 'CONSFIG_INAPPLICABLE_PROPERTY'
  | 'CONSFIG_INVALID_ARGUMENT'
  | 'CONSFIG_INVALID_DEFINITION'
  | 'CONSFIG_INVALID_HOP'
  | 'CONSFIG_INVALID_HOST'
  | 'CONSFIG_INVALID_REQUEST'
  | 'CONSFIG_LOCKED'
  | 'CONSFIG_MISSING_DATA'
  | 'CONSFIG_NO_VIA'
  | 'CONSFIG_PROPERTY_FAILED'
  | 'CONSFIG_UNKNOWN_HOP'
  | 'CONSFIG_USAGE'
  | 'CONSFIG_WRITE_FAILED'
  | 'CONSFIG_YAML_INVALID'
  | (string & {});

export class ConsfigError extends Error {
  readonly code: ConsfigErrorCode = 'CONSFIG_ERROR';
  host: string | undefined;
  property: string | undefined;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.host = context.host;
    this.property = context.property;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false });
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /** Fill in host and property where the code that threw did not know them. */
  withContext(context: ErrorContext): this {
    this.host ??= context.host;
    this.property ??= context.property;
    return this;
  }
}

/** A command run on the target exited non-zero (or was killed). */
export class CommandFailedError extends ConsfigError {
  override readonly code = 'CONSFIG_COMMAND_FAILED';
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(argv: readonly string[], exitCode: number, stdout: string, stderr: string, context: ErrorContext = {}) {
    super(`command ${formatArgv(argv)} exited with code ${exitCode}`, context);
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** A hop of the connection chain could not be established, or the chain died. */
export class ConnectionError extends ConsfigError {
  override readonly code: ConsfigErrorCode = 'CONSFIG_CONNECTION_FAILED';
  /** The chain as text: its hops joined by arrows (`ssh:root@web1`, an arrow, `sudo`). */
  readonly chain: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(message: string, chain: string, stderr: string, exitCode?: number, context: ErrorContext = {}) {
    super(message, context);
    this.chain = chain;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** The connection was closed (or its process died) while requests were pending. */
export class ConnectionLostError extends ConnectionError {
  override readonly code = 'CONSFIG_CONNECTION_LOST';
}

/** Another deployment holds the target's lock, and went on holding it while we waited. */
export class LockedError extends ConsfigError {
  override readonly code = 'CONSFIG_LOCKED';
  /** What the holder wrote into the lock file (who, since when). */
  readonly holder: string;
  readonly chain: string;
  constructor(message: string, holder: string, chain: string, context: ErrorContext = {}) {
    super(message, context);
    this.holder = holder;
    this.chain = chain;
  }
}

/** A file could not be written on the target; `stderr` says why, in the system's words. */
export class WriteFailedError extends ConsfigError {
  override readonly code = 'CONSFIG_WRITE_FAILED';
  readonly path: string;
  readonly stderr: string;
  constructor(path: string, stderr: string, context: ErrorContext = {}) {
    super(`cannot write ${path}: ${reason(stderr)}`, context);
    this.path = path;
    this.stderr = stderr;
  }
}

/** The system's words from a tool's stderr, without the shell's own prefix (`sh: 1: `). */
function reason(stderr: string): string {
  const text = stderr
    .trim()
    .split('\n')
    .map((l) => l.replace(/^(?:sh|dash|ash): (?:\d+: )?/, ''))
    .join('; ');
  return text === '' ? 'failed' : text;
}

/** The agent answered something that does not follow the protocol. */
export class AgentProtocolError extends ConsfigError {
  override readonly code = 'CONSFIG_AGENT_PROTOCOL';
}

/** A property was given an argument that does not fit its schema. */
export class InvalidArgumentError extends ConsfigError {
  override readonly code = 'CONSFIG_INVALID_ARGUMENT';
  readonly argument: string;
  readonly issue: string;

  constructor(property: string, argument: string, issue: string, context: ErrorContext = {}) {
    super(`invalid argument '${argument}' to ${property}: ${issue}`, { ...context, property });
    this.argument = argument;
    this.issue = issue;
  }
}

/** A property cannot be applied to this host (wrong OS, conflicting hostattrs). */
export class InapplicablePropertyError extends ConsfigError {
  override readonly code = 'CONSFIG_INAPPLICABLE_PROPERTY';
}

/** A host definition is malformed (bad name, a non-property in its list, a cycle). */
export class InvalidHostError extends ConsfigError {
  override readonly code = 'CONSFIG_INVALID_HOST';
}

/** A host was to be deployed, but nothing says how to reach it (no implicit local machine). */
export class NoViaError extends ConsfigError {
  override readonly code = 'CONSFIG_NO_VIA';
}

/** A property's apply or unapply failed for a reason other than a failed command. */
export class PropertyFailedError extends ConsfigError {
  override readonly code = 'CONSFIG_PROPERTY_FAILED';
}

/** Unapply was asked of a property that has apply but no unapply. */
export class CannotUnapplyError extends ConsfigError {
  override readonly code = 'CONSFIG_CANNOT_UNAPPLY';
}

/** A file that a property needs to read does not exist. */
export class FileNotFoundError extends ConsfigError {
  override readonly code = 'CONSFIG_FILE_NOT_FOUND';
  readonly path: string;
  constructor(path: string, context: ErrorContext = {}) {
    super(`no such file: ${path}`, context);
    this.path = path;
  }
}

/** A connection hop was given something it cannot use (a bad host, user, path or option). */
export class InvalidHopError extends ConsfigError {
  override readonly code = 'CONSFIG_INVALID_HOP';
  constructor(
    /** The kind of hop: ssh, sudo, chroot… */
    readonly hop: string,
    message: string,
    context: ErrorContext = {},
  ) {
    super(message, context);
  }
}

/** A command, write or probe asked of a connection is malformed (an empty argv, a NUL byte, a relative path). */
export class InvalidRequestError extends ConsfigError {
  override readonly code = 'CONSFIG_INVALID_REQUEST';
}

/** A property or other definition in code is incomplete (no steps). */
export class InvalidDefinitionError extends ConsfigError {
  override readonly code = 'CONSFIG_INVALID_DEFINITION';
}

/** The deployment was cancelled (AbortSignal, SIGINT in the CLI). */
export class DeployAbortedError extends ConsfigError {
  override readonly code = 'CONSFIG_ABORTED';
}

/** A ConsfigError of this copy of @consfig/core or of any other. */
export function isConsfigError(value: unknown): value is ConsfigError {
  return value instanceof ConsfigError || (value instanceof Error && (value as { [BRAND]?: unknown })[BRAND] === true);
}

/**
 * `value instanceof cls` that holds across copies of @consfig/core too: the brand, then
 * the class by name along the prototype chain (so subclasses count).
 */
export function isErrorOf<C extends abstract new (...args: never[]) => ConsfigError>(
  value: unknown,
  cls: C,
): value is InstanceType<C> {
  if (value instanceof cls) return true;
  if (!isConsfigError(value)) return false;
  for (let p: unknown = Object.getPrototypeOf(value); p; p = Object.getPrototypeOf(p)) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === cls.name) return true;
  }
  return false;
}

/** Wrap anything thrown into a ConsfigError, keeping the original as `cause`. */
export function toConsfigError(value: unknown, context: ErrorContext = {}): ConsfigError {
  if (isConsfigError(value)) return value.withContext(context);
  const message = value instanceof Error ? value.message : String(value);
  return new PropertyFailedError(message, { ...context, cause: value });
}

/** argv as a person would type it, quoting only where needed. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}
