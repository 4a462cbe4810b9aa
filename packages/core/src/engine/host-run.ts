/**
 * Applying one host's property tree over an open connection: checks, dry runs,
 * failure reporting (each failure reported once, where it arose), counting, and nested
 * deployments. What properties see of it is in property-context.ts.
 */
import type { CommandEvent, Connection, Hop } from '../connection.js';
import { CannotUnapplyError, toConsfigError } from '../errors.js';
import type { DeployEvent, HostFailure, HostResult, NestedIn } from '../events.js';
import { hostFailure, hostResult } from './host-result.js';
import { lockTarget } from './lock.js';
import { prefetchChecks } from './prefetch.js';
import { propertyContext, type ContextScope } from './property-context.js';
import type { HostattrView } from '../hostattrs.js';
import {
  toCheck,
  toOutcome,
  WouldChangeFirst,
  type EarlierChange,
  type FileChange,
  type NestedHost,
  type Outcome,
  type Propapp,
  type PropertyContext,
} from '../property.js';
import { monotonicMs } from '../monotonic.js';

const OUTPUT_EVENT_LIMIT = 64 * 1024;
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
  /** The checks' reads are fetched already (deploy() sends them behind the lock request). */
  prefetched?: boolean;
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
  readonly failures: HostFailure[] = [];
  private readonly earlierChanges: EarlierChange[] = [];

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
    const started = monotonicMs();
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
      const run = { skipped: false };
      const outcome = await this.execute(node, direction, ctx, run).catch((thrown: unknown): Outcome => {
        // A dry run's "not there yet, but what comes before may make it": would change.
        if (!(thrown instanceof WouldChangeFirst)) throw thrown;
        notes.push(`${thrown.message}: the changes before it may make it`);
        return { result: 'changed' };
      });
      if (announce && leaf && outcome.result === 'changed') {
        this.earlierChanges.push({ property: node.desc, paths: outcome.changes?.map((c) => c.path) });
      }
      // A combinator whose own check found it applied: the properties under it, unchecked,
      // are as they were.
      if (run.skipped && !(announce && leaf)) this.counts.unchanged += countLeaves(node);
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
          durationMs: monotonicMs() - started,
          dryRun: this.dryRun,
          changes: outcome.changes ?? [],
          notes,
        });
      }
      return outcome;
    } catch (thrown) {
      const error = toConsfigError(thrown, { host: this.hostname, property: node.desc });
      const first = !this.reported.has(error);
      if (!announce && first && parent === undefined) {
        // A combinator's own failure (asUser's hop refused) with no property line above it
        // to carry it: recorded here, since the host's top-level seq goes on past failures
        // it takes as reported.
        this.reported.add(error);
        this.counts.failed++;
        this.failures.push(hostFailure(error, node.desc));
      }
      if (announce) {
        if (first) {
          this.reported.add(error);
          this.counts.failed++;
          this.failures.push(hostFailure(error, node.desc));
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
          durationMs: monotonicMs() - started,
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

  /** Run `node`'s steps; `run.skipped` says its check found nothing to do (nothing under it ran). */
  private async execute(
    node: Propapp,
    direction: 'apply' | 'unapply',
    ctx: PropertyContext,
    run: { skipped: boolean },
  ): Promise<Outcome> {
    const skip = (): Outcome => {
      run.skipped = true;
      return { result: 'unchanged' };
    };
    const wouldChange = (changes?: FileChange[]): Outcome =>
      changes && changes.length > 0 ? { result: 'changed', changes } : { result: 'changed' };
    if (direction === 'apply') {
      let pending: FileChange[] | undefined;
      if (node.check) {
        const checked = toCheck(await node.check(ctx));
        if (checked.applied) return skip();
        pending = checked.changes;
      }
      if (!node.apply) return { result: 'unchanged' };
      if (this.dryRun && !node.combinator) return wouldChange(pending);
      const outcome = toOutcome(await node.apply(ctx));
      return outcome.changes || !pending || outcome.result === 'unchanged' ? outcome : { ...outcome, changes: pending };
    }
    if ((!node.apply && !node.unapply) || node.unapplyChangesNothing) return { result: 'unchanged' };
    if (node.check && !toCheck(await node.check(ctx)).applied) return skip();
    if (!node.unapply) throw new CannotUnapplyError(`${node.desc} cannot be unapplied`);
    if (this.dryRun && !node.combinator) return wouldChange();
    return toOutcome(await node.unapply(ctx));
  }

  /** The context `node`'s steps get: its children are applied under it. */
  private context(
    node: Propapp,
    conn: Connection,
    id: number | undefined,
    depth: number,
    notes: string[],
  ): PropertyContext {
    const scope: ContextScope = {
      hostname: this.hostname,
      attrs: this.attrs,
      dryRun: this.dryRun,
      data: this.data,
      extensions: this.extensions,
      memos: this.memos,
      earlierChanges: this.earlierChanges,
      apply: (child, direction, on) => this.applyNode(child, direction, on, id, depth),
      passOver: (child) => {
        this.counts.unchanged += countLeaves(child);
      },
      deployNested: async (child, hops, extend) => {
        const key = `nested:${child.name}:${hops.map((h) => h.describe()).join(' ')}`;
        const nestedConn = await extend(key, async (c) => {
          const opened = await c.extend(hops);
          // Another target (a container, a tree): deployed directly too, so it has a lock of its own.
          if (!this.dryRun && !hops.every(reachesSameTarget))
            await lockTarget(opened, child.name, this.options.lockWaitMs, this.emit);
          return opened;
        });
        return runHost(child, nestedConn, {
          ...this.options,
          events: true,
          parent: id === undefined ? undefined : { host: this.hostname, property: id },
        });
      },
    };
    return propertyContext(scope, node.desc, conn, notes);
  }
}

/**
 * Apply a host's tree over a connection that is already open, with host:start and
 * host:end events: the part of a deployment after connecting, shared by top-level and
 * nested deployments.
 */
export async function runHost(host: NestedHost, conn: Connection, options: RunHostOptions): Promise<HostResult> {
  const { dryRun, emit, events = true, parent } = options;
  const started = monotonicMs();
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
  const extra: HostFailure[] = [];
  try {
    if (!options.prefetched) await prefetchChecks(conn, host.root);
    await run.applyRoot(host.root);
  } catch (error) {
    if (!run.failures.some((f) => f.error === error)) {
      extra.push(hostFailure(toConsfigError(error, { host: host.name })));
    }
  }
  const result = hostResult(
    {
      host: host.name,
      chain: conn.chainText,
      dryRun,
      changed: run.counts.changed,
      unchanged: run.counts.unchanged,
      failed: run.counts.failed + extra.length,
      durationMs: monotonicMs() - started,
    },
    [...run.failures, ...extra],
  );
  if (events) emit({ type: 'host:end', host: host.name, result, ...(parent ? { parent } : {}) });
  return result;
}
