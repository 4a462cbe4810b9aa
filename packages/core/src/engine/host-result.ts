/** Building HostResults: each failure classified once, the status following from them. */
import { ConnectionError, DeployAbortedError, type ConsfigError } from '../errors.js';
import type { HostFailure, HostResult, HostResultCounts } from '../events.js';

/** The connection could not be opened or was lost, whether or not a property was running then. */
export function isConnectionFailure(error: ConsfigError): boolean {
  return error instanceof ConnectionError || error.cause instanceof ConnectionError;
}

/** A failure, by where it arose: a property's (named by its description) or the host's own. */
export function hostFailure(error: ConsfigError, property?: string): HostFailure {
  if (property !== undefined) return { kind: 'property', property, error };
  if (error instanceof DeployAbortedError) return { kind: 'cancelled', property: undefined, error };
  if (isConnectionFailure(error)) return { kind: 'connection', property: undefined, error };
  return { kind: 'host', property: undefined, error };
}

/** `ok` without failures; else `failed`, or `unreachable` where the connection failed. */
export function hostResult(
  counts: HostResultCounts,
  failures: readonly HostFailure[],
  unreachable = false,
): HostResult {
  const [first, ...more] = failures;
  if (first === undefined) return { ...counts, status: 'ok', failures: [] };
  return { ...counts, status: unreachable ? 'unreachable' : 'failed', failures: [first, ...more] };
}
