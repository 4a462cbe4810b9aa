/**
 * Deployments: resolve hostattrs (pure, before any connection), open the host's chain
 * once, prefetch what the checks will read in one batch, walk the property tree and
 * report through events. Nothing here prints or exits.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { launchConnection } from '../agent/connection.js';
import { seq, type PropSpec } from '../combinators.js';
import { describeChain, type Ask, type Connection } from '../connection.js';
import { dataAttr, fetchData, fetchItem, type DataSource } from '../data.js';
import { ConnectionError, DeployAbortedError, NoViaError, toConsfigError } from '../errors.js';
import type { DeployEvent, EventListener, HostFailure, HostResult } from '../events.js';
import { defineHost, Host, isHost, type Via } from '../host.js';
import { resolveVia } from '../hop-registry.js';
import { isPropapp, type Propapp } from '../property.js';
import { countLeaves, runHost } from './host-run.js';
import { prefetchChecks } from './prefetch.js';
import { hostFailure, hostResult, isConnectionFailure } from './host-result.js';
import { DEFAULT_LOCK_WAIT_MS, lockTarget } from './lock.js';
import { monotonicMs } from '../monotonic.js';

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
  /**
   * How long to wait for another deployment's lock on the target (default 300 s), after
   * which the host fails. Dry runs take no lock.
   */
  lockWaitMs?: number;
  /** Asks the person at the terminal, for hops that need a password (see HopContext). */
  ask?: Ask;
  /** Ask for the passwords of sudo hops that have none configured (`consfig -K`). */
  askPasswords?: boolean;
  /** Seconds hops may keep their connections for the next run (ssh masters); see HopContext. */
  keepConnections?: number;
}

export interface DeployManyOptions extends DeployOptions {
  /** How many hosts at once (default 10). */
  parallel?: number;
}

/**
 * Deploy `host` via `via` (default: the host's own via). There is no default machine:
 * a host with neither fails, so that a forgotten via never configures the machine
 * consfig runs on; write `'local'` for that.
 */
export async function deploy(host: Host, via?: Via, options: DeployOptions = {}): Promise<HostResult> {
  const emit = (event: DeployEvent) => options.onEvent?.(event);
  const dryRun = options.dryRun ?? false;
  const started = monotonicMs();
  let chain = 'local';
  const finish = (r: HostResult): HostResult => {
    const final = { ...r, durationMs: monotonicMs() - started };
    emit({ type: 'host:end', host: host.name, result: final });
    return final;
  };
  const cancelled = () => new DeployAbortedError('deployment cancelled', { host: host.name });
  const failBefore = (error: unknown, status: HostResult['status'] = 'failed') =>
    finish(
      hostResult(
        { host: host.name, chain, dryRun, changed: 0, unchanged: 0, failed: 1, durationMs: 0 },
        [hostFailure(toConsfigError(error, { host: host.name }))],
        status === 'unreachable',
      ),
    );

  let hops;
  try {
    const chosen = via ?? host.via;
    if (chosen === undefined) {
      chain = '?';
      throw new NoViaError(`${host.name} has no via: write via: 'local' to configure this machine`, {
        host: host.name,
      });
    }
    hops = resolveVia(chosen);
    chain = describeChain(hops);
  } catch (error) {
    emit({ type: 'host:start', host: host.name, chain, dryRun, properties: 0 });
    return failBefore(error);
  }
  emit({ type: 'host:start', host: host.name, chain, dryRun, properties: countLeaves(host.root) });

  let attrs;
  let data: Map<string, Buffer>;
  try {
    attrs = host.attrs;
    if (options.signal?.aborted) throw cancelled();
    data = await fetchData(host.name, attrs.get(dataAttr), options.data ?? []);
  } catch (error) {
    return failBefore(error);
  }

  const failConnecting = (error: unknown) =>
    failBefore(error, error instanceof ConnectionError ? 'unreachable' : 'failed');
  let conn: Connection;
  let ready: Promise<void>;
  try {
    ({ conn, ready } = await launchConnection(hops, {
      ...(options.env ? { env: options.env } : {}),
      ask: options.ask,
      askPasswords: options.askPasswords,
      keepConnections: options.keepConnections,
      // Hops' own prerequisite data (a sudo password), from the deployment's sources.
      data: (iden1, iden2) => fetchItem(host.name, iden1, iden2, options.data ?? []),
    }));
  } catch (error) {
    return failConnecting(error);
  }
  const onAbort = () => void conn.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  let result: HostResult;
  try {
    // The lock request and the checks' reads go out right behind the agent's greeting,
    // so that all three are answered in one round trip. Reads made while another
    // deployment held the lock (this one waited for it) are made again.
    let waited = false;
    let connected = false;
    const early: DeployEvent[] = [];
    const locking = dryRun
      ? undefined
      : lockTarget(conn, host.name, lockWaitMs, (event) => {
          if (event.type === 'host:waiting') waited = true;
          if (connected) emit(event);
          else early.push(event);
        });
    const reading = dryRun ? Promise.resolve(false) : prefetch(conn, host.root);
    locking?.catch(() => {}); // awaited below, after the greeting
    try {
      await ready;
    } catch (error) {
      return options.signal?.aborted ? failBefore(cancelled()) : failConnecting(error);
    }
    connected = true;
    emit({ type: 'host:connected', host: host.name, chain, durationMs: monotonicMs() - started });
    for (const event of early) emit(event);
    try {
      await locking;
    } catch (error) {
      await reading;
      // (the connection is closed below, in finally; one lost meanwhile: unreachable)
      return options.signal?.aborted ? failBefore(cancelled()) : failConnecting(error);
    }
    const prefetched = (await reading) && !waited;
    result = await runHost(host, conn, { dryRun, emit, data, lockWaitMs, events: false, prefetched });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await conn.close().catch(() => {});
  }
  const failures: HostFailure[] = [...result.failures];
  if (options.signal?.aborted) {
    failures.push(hostFailure(cancelled()));
  }
  const lost = failures.some((f) => isConnectionFailure(f.error));
  const { status: _status, failures: _failures, ...counts } = result;
  return finish(
    hostResult(
      { ...counts, chain, failed: result.failed + (failures.length - result.failures.length) },
      failures,
      lost && !options.signal?.aborted,
    ),
  );
}

/** Whether the checks' reads were fetched (else runHost fetches them and reports what fails). */
async function prefetch(conn: Connection, root: Propapp): Promise<boolean> {
  try {
    await prefetchChecks(conn, root);
    return true;
  } catch {
    return false;
  }
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
    typeof target === 'object' &&
    target !== null &&
    !Array.isArray(target) &&
    !('wrap' in target) &&
    !isPropapp(target);
  const options: DeployTheseOptions = isOptions ? (target as DeployTheseOptions) : { via: target as Via };
  const base = options.host;
  const host = isHost(base)
    ? base.withProps(seq(...props))
    : defineHost(typeof base === 'string' ? base : 'localhost', props as PropSpec[]);
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
  // Each host's deploy listens for the abort: many hosts are many listeners, which one
  // signal of the caller's would warn about past ten. They listen to one of our own.
  const outer = options.signal;
  if (outer === undefined) return Promise.all(hosts.map((host) => limit(() => deploy(host, undefined, options))));
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const forward = () => controller.abort(outer.reason);
  if (outer.aborted) forward();
  else outer.addEventListener('abort', forward, { once: true });
  const inner = { ...options, signal: controller.signal };
  try {
    return await Promise.all(hosts.map((host) => limit(() => deploy(host, undefined, inner))));
  } finally {
    outer.removeEventListener('abort', forward);
  }
}
