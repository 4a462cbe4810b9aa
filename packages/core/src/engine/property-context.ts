/**
 * The PropertyContext a property's check, apply and unapply get: its I/O over the
 * connection (errors naming host and property), notes, prerequisite data, memos and
 * extended connections shared across the run, and the way to apply others.
 */
import type { Connection, Hop } from '../connection.js';
import { dataKey, MissingDataError } from '../data.js';
import { CommandFailedError, FileNotFoundError, PropertyFailedError } from '../errors.js';
import type { HostResult } from '../events.js';
import type { HostattrView } from '../hostattrs.js';
import {
  mayHaveTouched,
  WouldChangeFirst,
  type EarlierChange,
  type NestedHost,
  type Outcome,
  type Propapp,
  type PropertyContext,
} from '../property.js';

/**
 * Output a property's command may leave in memory, per stream: its first and last
 * halves are kept (for the property and the report), the rest only counted.
 */
export const CAPTURE_LIMIT = 16 << 20;

/** Output as text, with a line where a limit left bytes out of its middle. */
function captured(buf: Buffer, omitted: number | undefined, limit: number): string {
  if (!omitted) return buf.toString('utf8');
  const half = Math.floor(limit / 2);
  const [head, tail] = [buf.subarray(0, half).toString('utf8'), buf.subarray(half).toString('utf8')];
  return `${head}\n… (${omitted} bytes left out) …\n${tail}`;
}

/** What a context needs of the host's run. */
export interface ContextScope {
  readonly hostname: string;
  readonly attrs: HostattrView;
  readonly dryRun: boolean;
  readonly data: ReadonlyMap<string, Buffer>;
  /** Connections extended once per run (by chain and key), and module memos. */
  readonly extensions: Map<string, Promise<Connection>>;
  readonly memos: Map<string, Promise<unknown>>;
  /** The leaves that changed (or would) so far in this host's run. */
  readonly earlierChanges: readonly EarlierChange[];
  /** Apply (or unapply) `child` under this property, over `conn`. */
  apply(child: Propapp, direction: 'apply' | 'unapply', conn: Connection): Promise<Outcome>;
  /** Count `child`'s properties as unchanged: not run this time. */
  passOver(child: Propapp): void;
  /** Run `child` through the hops, the connection opened once through `extend`. */
  deployNested(
    child: NestedHost,
    hops: readonly Hop[],
    extend: (key: string, make: (conn: Connection) => Promise<Connection>) => Promise<Connection>,
  ): Promise<HostResult>;
}

/** Memo and extension keys are per chain: the same key over another hop is another thing. */
const keyed = (conn: Connection, key: string) => `${conn.chainText}\u0000${key}`;

export function propertyContext(
  scope: ContextScope,
  property: string,
  conn: Connection,
  notes: string[],
): PropertyContext {
  const where = { host: scope.hostname, property };
  const ctx: PropertyContext = {
    hostname: scope.hostname,
    attrs: scope.attrs,
    conn,
    uid: conn.uid,
    gid: conn.gid,
    dryRun: scope.dryRun,
    run: async (argv, options = {}) => {
      const { allowFailure, ...runOptions } = options;
      const limit = runOptions.outputLimit ?? CAPTURE_LIMIT;
      const raw = await conn.run(argv, { ...runOptions, outputLimit: limit });
      const stdout = captured(raw.stdout, raw.stdoutOmitted, limit);
      const stderr = captured(raw.stderr, raw.stderrOmitted, limit);
      if (raw.exitCode !== 0 && !allowFailure) {
        throw new CommandFailedError(argv, raw.exitCode, stdout, stderr, where);
      }
      return { exitCode: raw.exitCode, stdout, stderr, raw };
    },
    test: async (argv, options = {}) =>
      (await conn.run(argv, { readOnly: true, outputLimit: 64 << 10, ...options })).exitCode === 0,
    readFile: (path) => conn.readFile(path),
    readFileIfExists: async (path) => {
      try {
        return await conn.readFile(path);
      } catch (error) {
        if (error instanceof FileNotFoundError) return null;
        throw error;
      }
    },
    writeFile: (path, data, options) => conn.writeFile(path, data, options),
    stat: (path) => conn.stat(path),
    probe: (queries) => conn.probe(queries),
    apply: (child) => scope.apply(child, 'apply', conn),
    unapply: (child) => scope.apply(child, 'unapply', conn),
    passOver: (child) => scope.passOver(child),
    withConnection: (other) => propertyContext(scope, property, other, notes),
    extendConnection: (key, make) => {
      const full = keyed(conn, key);
      let pending = scope.extensions.get(full);
      if (!pending) {
        pending = make(conn);
        scope.extensions.set(full, pending);
        pending.catch(() => scope.extensions.delete(full));
      }
      return pending;
    },
    fail: (message) => {
      throw new PropertyFailedError(message, where);
    },
    missing: (message, touches) => {
      if (scope.dryRun && mayHaveTouched(scope.earlierChanges, touches)) throw new WouldChangeFirst(message);
      throw new PropertyFailedError(message, where);
    },
    earlierChanges: () => scope.earlierChanges,
    note: (message) => {
      notes.push(message);
    },
    deployNested: async (child, via) => {
      const hops: readonly Hop[] = Array.isArray(via) ? via : [via as Hop];
      const result = await scope.deployNested(child, hops, ctx.extendConnection);
      if (result.status !== 'ok') {
        // The first failure says what went wrong; the nested host's block has them all.
        const [first, ...more] = result.failures;
        const what = first
          ? `${first.property ? `${first.property}: ` : ''}${first.error.message}`
          : `${result.failed} failed`;
        throw new PropertyFailedError(
          `nested deployment of ${child.name} failed: ${what}${more.length > 0 ? ` (and ${more.length} more)` : ''}`,
          where,
        );
      }
      return { result: result.changed > 0 ? 'changed' : 'unchanged' };
    },
    memo: <T>(key: string, compute: () => Promise<T>): Promise<T> => {
      const full = keyed(conn, key);
      let value = scope.memos.get(full) as Promise<T> | undefined;
      if (!value) {
        value = compute();
        scope.memos.set(full, value);
        value.catch(() => scope.memos.delete(full));
      }
      return value;
    },
    forget: (key) => {
      scope.memos.delete(keyed(conn, key));
    },
    getData: async (iden1, iden2) => {
      const value = scope.data.get(dataKey({ iden1, iden2 }));
      if (value === undefined) {
        throw new MissingDataError(
          { iden1, iden2 },
          `prerequisite data (${iden1}, ${iden2}) was not declared: call h.requireData in the property's hostattrs`,
          where,
        );
      }
      return value;
    },
  };
  return ctx;
}
