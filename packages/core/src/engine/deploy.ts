/**
 * Deployments: resolve hostattrs (pure, before any connection), open the host's chain
 * once, prefetch what the checks will read in one batch, walk the property tree and
 * report through events. Nothing here prints or exits.
 */
import pLimit from 'p-limit';
import { openConnection } from '../agent-connection.js';
import { seq } from '../combinators.js';
import { describeChain, type Connection, type ProbeQuery } from '../connection.js';
import { dataAttr, fetchData, type DataSource } from '../data.js';
import { ConnectionError, DeployAbortedError, isConsfigError, toConsfigError } from '../errors.js';
import type { DeployEvent, EventListener, HostResult } from '../events.js';
import { defineHost, Host, isHost, type Via } from '../host.js';
import { resolveVia } from '../hop-registry.js';
import { isPropapp, type Propapp } from '../property.js';
import { countLeaves, HostRun } from './host-run.js';

export interface DeployOptions {
  /** Run checks only; change nothing; report what would change. */
  dryRun?: boolean;
  onEvent?: EventListener;
  /** Cancels the deployment: the chain is killed and the host fails. */
  signal?: AbortSignal;
  /** Environment for the process that starts the chain (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where prerequisite data comes from, first match wins. */
  data?: readonly DataSource[];
}

export interface DeployManyOptions extends DeployOptions {
  /** How many hosts at once (default 10). */
  parallel?: number;
}

function collectPrefetch(node: Propapp, out: ProbeQuery[]): ProbeQuery[] {
  const queries = node.prefetch?.();
  if (queries) out.push(...queries);
  for (const child of node.children) collectPrefetch(child, out);
  return out;
}

/** Deploy `host` via `via` (default: the host's own via, else this machine). */
export async function deploy(host: Host, via?: Via, options: DeployOptions = {}): Promise<HostResult> {
  const emit = (event: DeployEvent) => options.onEvent?.(event);
  const dryRun = options.dryRun ?? false;
  const started = performance.now();
  let chain = 'local';
  const result = (status: HostResult['status'], run?: HostRun, extra: HostResult['failures'] = []): HostResult => ({
    host: host.name,
    chain,
    status,
    dryRun,
    changed: run?.counts.changed ?? 0,
    unchanged: run?.counts.unchanged ?? 0,
    failed: (run?.counts.failed ?? 0) + extra.length,
    durationMs: performance.now() - started,
    failures: [...(run?.failures ?? []), ...extra],
  });
  const finish = (r: HostResult) => {
    emit({ type: 'host:end', host: host.name, result: r });
    return r;
  };

  let hops;
  try {
    hops = resolveVia(via ?? host.via);
    chain = describeChain(hops);
  } catch (error) {
    emit({ type: 'host:start', host: host.name, chain, dryRun, properties: countLeaves(host.root) });
    return finish(result('failed', undefined, [{ property: undefined, error: toConsfigError(error, { host: host.name }) }]));
  }
  emit({ type: 'host:start', host: host.name, chain, dryRun, properties: countLeaves(host.root) });

  let attrs;
  try {
    attrs = host.attrs;
  } catch (error) {
    return finish(result('failed', undefined, [{ property: undefined, error: toConsfigError(error, { host: host.name }) }]));
  }
  if (options.signal?.aborted) {
    return finish(result('failed', undefined, [{ property: undefined, error: new DeployAbortedError('deployment cancelled', { host: host.name }) }]));
  }
  let data: Map<string, Buffer>;
  try {
    data = await fetchData(host.name, attrs.get(dataAttr), options.data ?? []);
  } catch (error) {
    return finish(result('failed', undefined, [{ property: undefined, error: toConsfigError(error, { host: host.name }) }]));
  }

  let conn: Connection;
  try {
    conn = await openConnection(hops, options.env ? { env: options.env } : {});
  } catch (error) {
    const e = toConsfigError(error, { host: host.name });
    return finish(result(e instanceof ConnectionError ? 'unreachable' : 'failed', undefined, [{ property: undefined, error: e }]));
  }
  const onAbort = () => void conn.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  emit({ type: 'host:connected', host: host.name, chain, durationMs: performance.now() - started });

  const run = new HostRun(host.name, attrs, conn, dryRun, emit, data);
  const extra: HostResult['failures'] = [];
  try {
    const queries = collectPrefetch(host.root, []);
    if (queries.length > 0) await conn.probe(queries);
    await run.applyRoot(host.root);
  } catch (error) {
    // Failures of announced properties are already in run.failures.
    if (!isConsfigError(error) || !run.failures.some((f) => f.error === error)) {
      extra.push({ property: undefined, error: toConsfigError(error, { host: host.name }) });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await conn.close().catch(() => {});
  }
  if (options.signal?.aborted) {
    extra.push({ property: undefined, error: new DeployAbortedError('deployment cancelled', { host: host.name }) });
  }
  const lost = [...run.failures, ...extra].some(
    (f) => f.error instanceof ConnectionError || f.error.cause instanceof ConnectionError,
  );
  const failed = run.failures.length + extra.length > 0;
  return finish(result(failed ? (lost && !options.signal?.aborted ? 'unreachable' : 'failed') : 'ok', run, extra));
}

export interface DeployTheseOptions extends DeployOptions {
  via?: Via;
  /** Whose hostattrs the properties see (default: a bare host named `localhost`). */
  host?: Host | string;
}

/** Deploy just these properties, e.g. `deployThese('ssh:root@web1', apt.installed('vim'))`. */
export async function deployThese(
  target: Via | DeployTheseOptions,
  ...props: (Propapp | readonly Propapp[])[]
): Promise<HostResult> {
  const isOptions =
    typeof target === 'object' && target !== null && !Array.isArray(target) && !('wrap' in target) && !isPropapp(target);
  const options: DeployTheseOptions = isOptions ? (target as DeployTheseOptions) : { via: target as Via };
  const base = options.host;
  const host = isHost(base)
    ? base.withProps(seq(...props))
    : defineHost(typeof base === 'string' ? base : 'localhost', props as unknown[]);
  return deploy(host, options.via ?? (isHost(base) ? base.via : undefined), options);
}

/**
 * Deploy several hosts, `parallel` at a time. Every host's hostattrs are resolved
 * first, so a refused property fails its host before anything anywhere is changed.
 */
export async function deployMany(hosts: readonly Host[], options: DeployManyOptions = {}): Promise<HostResult[]> {
  const limit = pLimit(Math.max(1, options.parallel ?? 10));
  for (const host of hosts) {
    try {
      void host.attrs;
    } catch {
      // deploy() reports it as this host's failure, without connecting.
    }
  }
  return Promise.all(hosts.map((host) => limit(() => deploy(host, undefined, options))));
}
