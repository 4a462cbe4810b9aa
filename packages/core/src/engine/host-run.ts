/**
 * Applying one host's property tree over an open connection: checks, dry runs,
 * failure reporting (each failure reported once, where it arose), counting, and the
 * PropertyContext that properties see.
 */
import type { CommandEvent, Connection, Hop } from '../connection.js';
import { dataKey, MissingDataError } from '../data.js';
import {
  CannotUnapplyError,
  CommandFailedError,
  FileNotFoundError,
  PropertyFailedError,
  toConsfigError,
} from '../errors.js';
import type { DeployEvent, HostResult, NestedIn } from '../events.js';
import { lockTarget } from './lock.js';
import { collectPrefetch } from './prefetch.js';
import type { HostattrView } from '../hostattrs.js';
import {
  toCheck,
  toOutcome,
  type FileChange,
  type NestedHost,
  type Outcome,
  type Propapp,
  type PropertyContext,
} from '../property.js';

const OUTPUT_EVENT_LIMIT = 64 * 1024;
/**
 * Output a property's command may leave in memory, per stream: its first and last
 * halves are kept (for the property and the report), the rest only counted.
 */
export const CAPTURE_LIMIT = 16 << 20;

/** Output as text, with a line where a limit left bytes out of its middle. */
function captured(buf: Buffer, omitted: number | undefined, limit: number): string {
  if (!omitted) return buf.toString('utf8');
  const half = Math.floor(limit / 2);
  return `${buf.subarray(0, half).toString('utf8')}\n… (${omitted} bytes left out) …\n${buf.subarray(half).toString('utf8')}`;
}

const announcedBelow = new WeakMap<Propapp, boolean>();

/** Whether any descendant is announced (then this node is not a leaf for counting). */
function hasAnnouncedDescendant(node: Propapp): boolean {
  let known = announcedBelow.get(node);
  if (known === undefined) {
    known = node.children.some((c) => c.announce || hasAnnouncedDescendant(c));
    announcedBelow.set(node, known);
  }
  return known;
}

/** How many announced leaves a tree has: what a host's progress counts to. */
export function countLeaves(node: Propapp): number {
  const below = node.children.reduce((n, c) => n + countLeaves(c), 0);
  return node.announce && !hasAnnouncedDescendant(node) ? 1 : below;
}

function clip(buf: Buffer): string {
  return buf.length > OUTPUT_EVENT_LIMIT
    ? `${buf.subarray(0, OUTPUT_EVENT_LIMIT).toString('utf8')}\n… (${buf.length - OUTPUT_EVENT_LIMIT} more bytes)`
    : buf.toString('utf8');
}

/** How a host's tree is run: what deploy() and nested deployments share. */
export interface RunHostOptions {
  dryRun: boolean;
  emit: (event: DeployEvent) => void;
  data: ReadonlyMap<string, Buffer>;
  /** How long a deployment waits for another's lock on its target. */
  lockWaitMs: number;
  /** Emit host:start and host:end (deploy() emits its own, around connecting). */
  events?: boolean;
  /** For a nested deployment: the parent host's property it runs under. */
  parent?: NestedIn | undefined;
}

/** A hop that only switches user reaches the same target, whose lock is already held. */
function reachesSameTarget(hop: Hop): boolean {
  return hop.localRoot?.('/') === '/';
}

export class HostRun {
  private nextId = 1;
  private current: number | undefined;
  private readonly reported = new WeakSet<object>();
  private readonly extensions = new Map<string, Promise<Connection>>();
  private readonly memos = new Map<string, Promise<unknown>>();
  readonly counts = { changed: 0, unchanged: 0, failed: 0 };
  readonly failures: HostResult['failures'] = [];

  readonly dryRun: boolean;
  private readonly emit: (event: DeployEvent) => void;
  private readonly data: ReadonlyMap<string, Buffer>;

  constructor(
    readonly hostname: string,
    readonly attrs: HostattrView,
    private readonly conn: Connection,
    private readonly options: RunHostOptions,
  ) {
    this.dryRun = options.dryRun;
    this.emit = options.emit;
    this.data = options.data;
    conn.onCommand((event) => this.onCommand(event));
  }

  async applyRoot(root: Propapp): Promise<Outcome> {
    return this.applyNode(root, 'apply', this.conn, undefined, 0);
  }

  private onCommand(event: CommandEvent): void {
    this.emit({
      type: 'command',
      host: this.hostname,
      property: this.current,
      argv: event.argv,
      exitCode: event.exitCode,
      durationMs: event.durationMs,
    });
    if (event.stdout.length > 0 || event.stderr.length > 0) {
      this.emit({
        type: 'output',
        host: this.hostname,
        property: this.current,
        stdout: clip(event.stdout),
        stderr: clip(event.stderr),
      });
    }
  }

  private async applyNode(
    node: Propapp,
    direction: 'apply' | 'unapply',
    conn: Connection,
    parent: number | undefined,
    depth: number,
  ): Promise<Outcome> {
    const announce = node.announce;
    const id = announce ? this.nextId++ : parent;
    const childDepth = announce ? depth + 1 : depth;
    const notes: string[] = [];
    const started = performance.now();
    const leaf = !hasAnnouncedDescendant(node);
    if (announce) {
      this.emit({
        type: 'property:start',
        host: this.hostname,
        id: id!,
        parent,
        depth,
        desc: node.desc,
        name: node.name,
        direction,
      });
    }
    const saved = this.current;
    this.current = id;
    const ctx = this.context(node, conn, id, childDepth, notes);
    try {
      const outcome = await this.execute(node, direction, ctx);
      if (announce) {
        if (leaf) this.counts[outcome.result]++;
        this.emit({
          type: 'property:end',
          host: this.hostname,
          id: id!,
          depth,
          desc: node.desc,
          name: node.name,
          status: outcome.result,
          leaf,
          durationMs: performance.now() - started,
          dryRun: this.dryRun,
          changes: outcome.changes ?? [],
          notes,
        });
      }
      return outcome;
    } catch (thrown) {
      const error = toConsfigError(thrown, { host: this.hostname, property: node.desc });
      const first = !this.reported.has(error);
      if (announce) {
        if (first) {
          this.reported.add(error);
          this.counts.failed++;
          this.failures.push({ property: node.desc, error });
        }
        this.emit({
          type: 'property:end',
          host: this.hostname,
          id: id!,
          depth,
          desc: node.desc,
          name: node.name,
          status: 'failed',
          leaf,
          durationMs: performance.now() - started,
          dryRun: this.dryRun,
          changes: [],
          notes,
          ...(first ? { error } : {}),
        });
      }
      throw error;
    } finally {
      this.current = saved;
    }
  }

  private async execute(node: Propapp, direction: 'apply' | 'unapply', ctx: PropertyContext): Promise<Outcome> {
    const wouldChange = (changes?: FileChange[]): Outcome =>
      changes && changes.length > 0 ? { result: 'changed', changes } : { result: 'changed' };
    if (direction === 'apply') {
      let pending: FileChange[] | undefined;
      if (node.check) {
        const checked = toCheck(await node.check(ctx));
        if (checked.applied) return { result: 'unchanged' };
        pending = checked.changes;
      }
      if (!node.apply) return { result: 'unchanged' };
      if (this.dryRun && !node.combinator) return wouldChange(pending);
      const outcome = toOutcome(await node.apply(ctx));
      return outcome.changes || !pending || outcome.result === 'unchanged' ? outcome : { ...outcome, changes: pending };
    }
    if (!node.apply && !node.unapply) return { result: 'unchanged' };
    if (node.check && !toCheck(await node.check(ctx)).applied) return { result: 'unchanged' };
    if (!node.unapply) throw new CannotUnapplyError(`${node.desc} cannot be unapplied`);
    if (this.dryRun && !node.combinator) return wouldChange();
    return toOutcome(await node.unapply(ctx));
  }

  private context(node: Propapp, conn: Connection, id: number | undefined, depth: number, notes: string[]): PropertyContext {
    const where = { host: this.hostname, property: node.desc };
    const ctx: PropertyContext = {
      hostname: this.hostname,
      attrs: this.attrs,
      conn,
      dryRun: this.dryRun,
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
      apply: (child) => this.applyNode(child, 'apply', conn, id, depth),
      unapply: (child) => this.applyNode(child, 'unapply', conn, id, depth),
      withConnection: (other) => this.context(node, other, id, depth, notes),
      extendConnection: (key, make) => {
        const fullKey = `${conn.chainText}\u0000${key}`;
        let pending = this.extensions.get(fullKey);
        if (!pending) {
          pending = make(conn);
          this.extensions.set(fullKey, pending);
          pending.catch(() => this.extensions.delete(fullKey));
        }
        return pending;
      },
      fail: (message) => {
        throw new PropertyFailedError(message, where);
      },
      note: (message) => {
        notes.push(message);
      },
      deployNested: async (child, hop) => {
        const nestedConn = await ctx.extendConnection(`nested:${child.name}:${hop.describe()}`, async (c) => {
          const opened = await c.extend(hop);
          // Another target (a container, a tree): deployed directly too, so it has a lock of its own.
          if (!this.dryRun && !reachesSameTarget(hop)) await lockTarget(opened, child.name, this.options.lockWaitMs, this.emit);
          return opened;
        });
        const result = await runHost(child, nestedConn, {
          ...this.options,
          events: true,
          parent: id === undefined ? undefined : { host: this.hostname, property: id },
        });
        if (result.status !== 'ok') {
          // The first failure says what went wrong; the nested host's block has them all.
          const [first, ...more] = result.failures;
          const what = first ? `${first.property ? `${first.property}: ` : ''}${first.error.message}` : `${result.failed} failed`;
          throw new PropertyFailedError(
            `nested deployment of ${child.name} failed: ${what}${more.length > 0 ? ` (and ${more.length} more)` : ''}`,
            where,
          );
        }
        return { result: result.changed > 0 ? 'changed' : 'unchanged' };
      },
      memo: <T>(key: string, compute: () => Promise<T>): Promise<T> => {
        const full = `${conn.chainText}\u0000${key}`;
        let value = this.memos.get(full) as Promise<T> | undefined;
        if (!value) {
          value = compute();
          this.memos.set(full, value);
          value.catch(() => this.memos.delete(full));
        }
        return value;
      },
      forget: (key) => {
        this.memos.delete(`${conn.chainText}\u0000${key}`);
      },
      getData: async (iden1, iden2) => {
        const value = this.data.get(dataKey({ iden1, iden2 }));
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
}


/**
 * Apply a host's tree over a connection that is already open, with host:start and
 * host:end events: the part of a deployment after connecting, shared by top-level and
 * nested deployments.
 */
export async function runHost(host: NestedHost, conn: Connection, options: RunHostOptions): Promise<HostResult> {
  const { dryRun, emit, events = true, parent } = options;
  const started = performance.now();
  if (events) {
    emit({
      type: 'host:start',
      host: host.name,
      chain: conn.chainText,
      dryRun,
      properties: countLeaves(host.root),
      ...(parent ? { parent } : {}),
    });
  }
  const run = new HostRun(host.name, host.attrs, conn, options);
  const extra: HostResult['failures'] = [];
  try {
    const queries = collectPrefetch(host.root);
    if (queries.length > 0) await conn.probe(queries);
    await run.applyRoot(host.root);
  } catch (error) {
    if (!run.failures.some((f) => f.error === error)) {
      extra.push({ property: undefined, error: toConsfigError(error, { host: host.name }) });
    }
  }
  const failures = [...run.failures, ...extra];
  const result: HostResult = {
    host: host.name,
    chain: conn.chainText,
    status: failures.length > 0 ? 'failed' : 'ok',
    dryRun,
    changed: run.counts.changed,
    unchanged: run.counts.unchanged,
    failed: run.counts.failed + extra.length,
    durationMs: performance.now() - started,
    failures,
  };
  if (events) emit({ type: 'host:end', host: host.name, result, ...(parent ? { parent } : {}) });
  return result;
}
