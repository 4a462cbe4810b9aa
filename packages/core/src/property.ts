/**
 * Properties and their applications. `defprop` turns a definition into a function whose
 * calls make applications (propapps): the nodes of a host's property tree. Arguments
 * are checked against the zod schema when the application is made, but the error is
 * raised when the host is resolved, so that it can name the host too.
 */
import type { ZodType, ZodTypeDef } from 'zod';
import type { CommandResult, Connection, FileInfo, Hop, ProbeQuery, RunOptions, WriteOptions } from './connection.js';
import { ConsfigError, InvalidArgumentError, InvalidDefinitionError } from './errors.js';
import type { HostattrKey, HostattrView } from './hostattrs.js';

export type Result = 'changed' | 'unchanged';

/** A file a property changed (or would change, in a dry run), for diffs. */
export interface FileChange {
  path: string;
  /** Old content; null when the file did not exist. */
  before: string | null;
  /** New content; null when the file is removed. */
  after: string | null;
  /**
   * What before and after hold: the file's text (the default); a description of its
   * type, mode, owner or link target (`metadata`); or nothing, for a secret, whose
   * content is never shown (`secret`).
   */
  kind?: 'content' | 'metadata' | 'secret';
}

export interface Outcome {
  result: Result;
  changes?: FileChange[];
}

/** What a check returns: true when the property is already applied. */
export type CheckResult = boolean | { applied: boolean; changes?: FileChange[] };

/** What apply and unapply return; nothing counts as a change. */
export type ApplyReturn = Result | Outcome | void;

/** What a property's hostattrs step gets. It may only push, read and refuse. */
export interface HostattrsContext extends HostattrView {
  push<T>(key: HostattrKey<T>, ...values: T[]): void;
  /** The hostattrs of another host (resolved purely, on first use). */
  of(host: { readonly attrs: HostattrView }): HostattrView;
  /** Refuse this host: throws InapplicablePropertyError naming host and property. */
  inapplicable(message: string): never;
  /** Declare prerequisite data the property will read with `ctx.getData`. */
  requireData(iden1: string, iden2: string): void;
  /** Run another application's hostattrs (and its children's) for this host: for combinators that choose. */
  include(propapp: Propapp): void;
}

export interface TextResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  raw: CommandResult;
}

/** What check, apply and unapply get. All I/O goes through it. */
export interface PropertyContext {
  readonly hostname: string;
  readonly attrs: HostattrView;
  /**
   * The connection itself: for what the methods here do not cover (opening hops of
   * one's own, `localPath`); commands run through it are still shown and counted.
   */
  readonly conn: Connection;
  /** The target user's ids, as the connection reached them. */
  readonly uid: number;
  readonly gid: number;
  /** True in `consfig check`: apply is never called; combinators must not change things. */
  readonly dryRun: boolean;
  /** Run argv; throws CommandFailedError (with host and property) on a non-zero exit. */
  run(argv: readonly string[], options?: RunOptions & { allowFailure?: boolean }): Promise<TextResult>;
  /** Like run with allowFailure and readOnly: for checks. */
  test(argv: readonly string[], options?: RunOptions): Promise<boolean>;
  readFile(path: string): Promise<Buffer>;
  /** File contents, or null when it does not exist. */
  readFileIfExists(path: string): Promise<Buffer | null>;
  writeFile(path: string, data: string | Uint8Array, options?: WriteOptions): Promise<void>;
  stat(path: string): Promise<FileInfo>;
  /**
   * Many paths' metadata (and, when asked, content) in one round trip; later stats and
   * reads of them are served from it.
   */
  probe(queries: readonly ProbeQuery[]): Promise<Map<string, FileInfo>>;
  /** Apply another application here (for combinators and programmatic use). */
  apply(propapp: Propapp): Promise<Outcome>;
  unapply(propapp: Propapp): Promise<Outcome>;
  /**
   * A combinator passes over `propapp` this time (onChange without a change, a gate that
   * is shut): its properties count as unchanged, so a run's counts add up the same.
   */
  passOver(propapp: Propapp): void;
  /** The same context over another connection (e.g. as another user). */
  withConnection(conn: Connection): PropertyContext;
  /** A connection with one more hop, opened once per deployment and reused. */
  extendConnection(key: string, make: (conn: Connection) => Promise<Connection>): Promise<Connection>;
  /** Throw a PropertyFailedError naming host and property. */
  fail(message: string): never;
  /**
   * What this property needs is not there (a user, a group, a program). Fails as `fail`
   * does, except in a dry run where properties before this one would change something
   * `touches` accepts (or something not known): they may make it, so this property
   * would change, with `message` as its note, where a deploy would have it.
   */
  missing(message: string, touches?: (path: string) => boolean): never;
  /** What the properties before this one (this host, this run) changed, or in a dry run would. */
  earlierChanges(): readonly EarlierChange[];
  /** A note shown with the property's result (e.g. at -v). */
  note(message: string): void;
  /** Prerequisite data declared with `h.requireData` (never log or print it). */
  getData(iden1: string, iden2: string): Promise<Buffer>;
  /**
   * A value computed once per connection and deployment (the installed package set),
   * until `forget(key)`; the cache a module keeps across its properties' checks.
   */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
  forget(key: string): void;
  /**
   * Deploy another host's properties through this connection extended by `via` (one hop
   * into a chroot or container this property built, or a chain such as ssh then sudo).
   * The nested host is reported as a host of its own; its failure fails this property.
   */
  deployNested(host: NestedHost, via: Hop | readonly Hop[]): Promise<Outcome>;
}

/** A property that changed (or would) before: its description and, where it said, the paths. */
export interface EarlierChange {
  readonly property: string;
  /** Undefined where the property did not say what it changed (a command, a package). */
  readonly paths: readonly string[] | undefined;
}

/** Whether one of `changes` may have touched a path `touches` accepts (one not saying counts). */
export function mayHaveTouched(changes: readonly EarlierChange[], touches: (path: string) => boolean = () => true) {
  return changes.some((c) => c.paths === undefined || c.paths.some(touches));
}

/** What a deploy's dry run has instead of the thing `ctx.missing` found missing. */
export class WouldChangeFirst {
  constructor(readonly message: string) {}
}

/** What deployNested needs of a host (a Host, nested with Host.nestedIn). */
export interface NestedHost {
  readonly name: string;
  readonly root: Propapp;
  readonly attrs: HostattrView;
}

export const PROPAPP = Symbol.for('consfig.propapp');

/** One application of a property, or a combinator node. */
export interface Propapp {
  readonly [PROPAPP]: true;
  /** Property name, e.g. `file.hasContent`; combinators use their own (`seq`, `onChange`). */
  readonly name: string;
  readonly desc: string;
  readonly args: readonly unknown[];
  /** Whether the engine announces it (combinators without their own description don't). */
  readonly announce: boolean;
  readonly children: readonly Propapp[];
  /** The children's hostattrs are run on a copy and discarded (e.g. `unapply`). */
  readonly isolateChildHostattrs?: boolean;
  /** Combinators run apply in dry runs (they only apply children); properties do not. */
  readonly combinator?: boolean;
  /** An argument error, raised when the host is resolved. */
  readonly invalid?: ConsfigError;
  /** Unapplying it changes nothing by design (`unapply: 'nothing'`): unchanged, checked or not. */
  readonly unapplyChangesNothing?: true;
  hostattrs?(h: HostattrsContext): void;
  prefetch?(): ProbeQuery[];
  check?(ctx: PropertyContext): Promise<CheckResult>;
  apply?(ctx: PropertyContext): Promise<ApplyReturn>;
  unapply?(ctx: PropertyContext): Promise<ApplyReturn>;
}

export function isPropapp(value: unknown): value is Propapp {
  return typeof value === 'object' && value !== null && (value as Propapp)[PROPAPP] === true;
}

export interface PropertyDefinition<A extends unknown[]> {
  /** Module-qualified name, e.g. `file.hasContent`. */
  name: string;
  /** Shown during deploys: text, or a pure function of the arguments. */
  desc: string | NoInfer<(...args: A) => string>;
  /** A zod tuple for the arguments (defaults fill in, transforms apply). */
  args?: ZodType<A, ZodTypeDef, unknown>;
  /** Names of the positional arguments, for error messages. */
  argNames?: readonly string[];
  // NoInfer: the argument types come from `args` alone, never from a step that happens
  // to take fewer parameters.
  hostattrs?: NoInfer<(h: HostattrsContext, ...args: A) => void>;
  /** Paths whose metadata (and content) the check will read, fetched in one batch. */
  prefetch?: NoInfer<(...args: A) => ProbeQuery[]>;
  check?: NoInfer<(ctx: PropertyContext, ...args: A) => Promise<CheckResult>>;
  apply?: NoInfer<(ctx: PropertyContext, ...args: A) => Promise<ApplyReturn>>;
  /**
   * Or `'nothing'`: unapplying it leaves things as they are (another step undoes what it
   * did, or what it did is shared), so unapplying reports unchanged without a check, and
   * a dry run does not claim it would change anything.
   */
  unapply?: 'nothing' | NoInfer<(ctx: PropertyContext, ...args: A) => Promise<ApplyReturn>>;
  /**
   * apply only applies other properties through ctx (`ctx.apply`, `ctx.deployNested`),
   * which honour a dry run: so it runs in dry runs too (`ctx.dryRun` tells it), and what
   * it applies reports for itself. A nested host's checks show in `consfig check` so.
   */
  appliesOthers?: boolean;
}

/** Trailing parameters that accept undefined may be left out (zod 3 tuples type them as required). */
export type OptionalTail<T extends unknown[]> = T extends [...infer Head, infer Last]
  ? undefined extends Last
    ? [...OptionalTail<Head>, Last?]
    : T
  : T;

/** A property: call it with its arguments to make an application. */
export interface Property<A extends unknown[], I extends unknown[] = A> {
  (...args: OptionalTail<I>): Propapp;
  readonly propertyName: string;
}

function argumentError(
  def: { name: string; argNames?: readonly string[] | undefined },
  issue: {
    path: PropertyKey[];
    message: string;
  },
): InvalidArgumentError {
  const [index, ...rest] = issue.path;
  const names = def.argNames ?? [];
  let base = names[0] ?? 'arguments';
  if (typeof index === 'number') {
    // Past the named ones, arguments are the rest of the last name (variadic).
    base =
      index < names.length
        ? names[index]!
        : names.length > 0
          ? `${names[names.length - 1]}[${index - names.length + 1}]`
          : `argument ${index + 1}`;
  }
  const argument = [base, ...rest.map(String)].join('.');
  return new InvalidArgumentError(def.name, argument, issue.message);
}

/** A zod tuple's items and rest, of any copy of zod 3 (each package may have its own: no instanceof). */
function tupleParts(schema: unknown): { items: unknown[]; rest: boolean } | undefined {
  const def = (schema as { _def?: { typeName?: string; items?: unknown; rest?: unknown } } | undefined)?._def;
  return def?.typeName === 'ZodTuple' && Array.isArray(def.items)
    ? { items: def.items, rest: def.rest !== null && def.rest !== undefined }
    : undefined;
}

/** The tuple a property's arguments schema is, looking through refinements and transforms. */
function tupleOf(schema: ZodType): { items: unknown[]; rest: boolean } | undefined {
  let inner: unknown = schema;
  while (inner && !tupleParts(inner) && (inner as { _def?: { schema?: unknown } })._def?.schema) {
    inner = (inner as { _def: { schema: unknown } })._def.schema;
  }
  return tupleParts(inner);
}

/** zod 3 tuples want every element: fill omitted trailing (optional) arguments with undefined. */
function padToTuple(schema: ZodType, given: unknown[]): unknown[] {
  const items = tupleOf(schema)?.items;
  if (!items) return given;
  return given.length >= items.length
    ? given
    : [...given, ...new Array<undefined>(items.length - given.length).fill(undefined)];
}

/**
 * More arguments than the property takes, said as such: zod's own words for it ("Array
 * must contain at most 2 element(s)") would be put on the first argument.
 */
function tooManyArguments(
  def: { name: string; args?: ZodType; argNames?: readonly string[] | undefined },
  given: unknown[],
): InvalidArgumentError | undefined {
  const tuple = def.args && tupleOf(def.args);
  if (!tuple || tuple.rest || given.length <= tuple.items.length) return undefined;
  const n = tuple.items.length;
  const names = def.argNames?.length ? ` (${def.argNames.join(', ')})` : '';
  const takes = n === 0 ? 'takes no arguments' : `takes ${n === 1 ? 'one argument' : `at most ${n} arguments`}${names}`;
  return new InvalidArgumentError(def.name, 'arguments', `${takes}, given ${given.length}`);
}

/** A property that takes no arguments: editors show `updated()`, not `updated(...args: [])`. */
export interface PropertyWithoutArgs {
  (): Propapp;
  readonly propertyName: string;
}

/** What defprop returns: a property taking the arguments `I` (which its zod tuple turns into `A`). */
export type PropertyOf<A extends unknown[], I extends unknown[]> = [I] extends [[]]
  ? PropertyWithoutArgs
  : Property<A, I>;

/** A parameter whose type comes from the property's zod tuple (see `withParams`). */
export type Arg = unknown;

/** `L`'s labels and optionality over `I`'s element types. */
type Relabel<L extends unknown[], I extends unknown[]> = {
  [K in keyof L]: K extends keyof I ? I[K] : I extends readonly (infer E)[] ? E : never;
};

/**
 * Names a property's parameters for editors, which otherwise show zod's `args_0`:
 * `withParams<[path: Arg, content: Arg, options?: Arg]>()(defprop({...}))` makes signature
 * help say `hasContent(path, content, options?)`. The types stay those the zod tuple takes.
 */
export function withParams<L extends unknown[]>() {
  return <A extends unknown[], I extends unknown[]>(property: Property<A, I>): Property<A, Relabel<L, I>> =>
    property as unknown as Property<A, Relabel<L, I>>;
}

/** Define a property. */
export function defprop<A extends unknown[] = [], I extends unknown[] = A>(
  def: PropertyDefinition<A> & { args?: ZodType<A, ZodTypeDef, I> },
): PropertyOf<A, I> {
  if (!def.hostattrs && !def.apply && !def.unapply) {
    throw new InvalidDefinitionError(`property ${def.name} needs at least one of hostattrs, apply or unapply`);
  }
  const make = (...given: unknown[]): Propapp => {
    let args = given as unknown as A;
    let invalid: ConsfigError | undefined;
    if (def.args) invalid = tooManyArguments(def, given);
    if (def.args && !invalid) {
      const parsed = def.args.safeParse(padToTuple(def.args, given));
      if (parsed.success) args = parsed.data;
      else invalid = argumentError(def, parsed.error.issues[0] ?? { path: [], message: 'invalid arguments' });
    }
    let desc = def.name;
    if (!invalid) {
      try {
        desc = typeof def.desc === 'string' ? def.desc : def.desc(...args);
      } catch (error) {
        invalid = new InvalidArgumentError(
          def.name,
          'arguments',
          error instanceof Error ? error.message : String(error),
        );
      }
    }
    const propapp: Propapp = {
      [PROPAPP]: true,
      name: def.name,
      desc,
      args,
      announce: true,
      children: [],
      ...(def.appliesOthers ? { combinator: true } : {}),
      ...(invalid ? { invalid } : {}),
      ...(def.hostattrs ? { hostattrs: (h: HostattrsContext) => def.hostattrs!(h, ...args) } : {}),
      ...(def.prefetch ? { prefetch: () => def.prefetch!(...args) } : {}),
      ...(def.check ? { check: (ctx: PropertyContext) => def.check!(ctx, ...args) } : {}),
      ...(def.apply ? { apply: (ctx: PropertyContext) => def.apply!(ctx, ...args) } : {}),
      ...unapplyOf(def.unapply, args),
    };
    return Object.freeze(propapp);
  };
  Object.defineProperty(make, 'propertyName', { value: def.name });
  Object.defineProperty(make, 'name', { value: def.name });
  return make as unknown as PropertyOf<A, I>;
}

function unapplyOf<A extends unknown[]>(unapply: PropertyDefinition<A>['unapply'], args: A): Partial<Propapp> {
  if (unapply === 'nothing') return { unapplyChangesNothing: true, unapply: async () => 'unchanged' };
  return unapply ? { unapply: (ctx: PropertyContext) => unapply(ctx, ...args) } : {};
}

/** Normalise what apply returned. */
export function toOutcome(value: ApplyReturn): Outcome {
  if (value === undefined || value === 'changed') return { result: 'changed' };
  if (value === 'unchanged') return { result: 'unchanged' };
  return value;
}

/** Normalise what check returned. */
export function toCheck(value: CheckResult): { applied: boolean; changes?: FileChange[] } {
  return typeof value === 'boolean' ? { applied: value } : value;
}

/**
 * An application that only refuses its host, with an argument error raised when the
 * host is resolved: for property functions that check their options themselves.
 */
export function invalidApplication(property: string, argument: string, issue: string): Propapp {
  return Object.freeze({
    [PROPAPP]: true as const,
    name: property,
    desc: property,
    args: [],
    announce: true,
    children: [],
    invalid: new InvalidArgumentError(property, argument, issue),
  });
}
