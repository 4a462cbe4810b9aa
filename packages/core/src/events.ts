/**
 * Typed events from the engine. Libraries never print: reporters (the CLI's, or an
 * embedding tool's) turn these into output.
 */
import type { ConsfigError, DeployAbortedError } from './errors.js';
import type { FileChange, Result } from './property.js';

export type PropertyStatus = Result | 'failed';

/** One reason a host failed, by where it arose (switch on `kind`). */
export type HostFailure =
  /** A property (or a combinator's own step) failed while applying: `property` is its description. */
  | { kind: 'property'; property: string; error: ConsfigError }
  /** The connection could not be opened or was lost (`error` is, or was caused by, a ConnectionError). */
  | { kind: 'connection'; property: undefined; error: ConsfigError }
  /** The deployment was cancelled (its signal aborted). */
  | { kind: 'cancelled'; property: undefined; error: DeployAbortedError }
  /** The host itself was refused before any property ran: no via, hostattrs refused, the lock held elsewhere. */
  | { kind: 'host'; property: undefined; error: ConsfigError };

export interface HostResultCounts {
  host: string;
  chain: string;
  dryRun: boolean;
  /** Counts over announced leaf properties. */
  changed: number;
  unchanged: number;
  failed: number;
  durationMs: number;
}

/**
 * How one host's deployment ended. `ok` has no failures; `failed` and `unreachable`
 * (the connection failed) have at least one, innermost property failure first.
 */
export type HostResult =
  | (HostResultCounts & { status: 'ok'; failures: [] })
  | (HostResultCounts & { status: 'failed' | 'unreachable'; failures: [HostFailure, ...HostFailure[]] });

/** Where a nested host (a chroot or container a property builds) is deployed from. */
export interface NestedIn {
  host: string;
  /** The id of the parent host's property that deploys it. */
  property: number;
}

export type DeployEvent =
  | {
      type: 'host:start';
      host: string;
      chain: string;
      dryRun: boolean;
      /** Announced leaf properties. */
      properties: number;
      /** Set for a nested deployment: its events belong under this property. */
      parent?: NestedIn;
    }
  | { type: 'host:connected'; host: string; chain: string; durationMs: number }
  /** Another deployment holds the target's lock: this one waits up to waitMs. */
  | { type: 'host:waiting'; host: string; chain: string; holder: string; waitMs: number }
  | { type: 'host:end'; host: string; result: HostResult; parent?: NestedIn }
  | {
      type: 'property:start';
      host: string;
      id: number;
      parent: number | undefined;
      depth: number;
      desc: string;
      name: string;
      direction: 'apply' | 'unapply';
    }
  | {
      type: 'property:end';
      host: string;
      id: number;
      depth: number;
      desc: string;
      name: string;
      status: PropertyStatus;
      /** A leaf (no announced children): what the recap counts. */
      leaf: boolean;
      durationMs: number;
      dryRun: boolean;
      changes: FileChange[];
      notes: string[];
      /** Set when this property is where the failure arose (not merely a parent of it). */
      error?: ConsfigError;
    }
  | {
      type: 'command';
      host: string;
      property: number | undefined;
      argv: readonly string[];
      exitCode: number;
      durationMs: number;
    }
  | {
      type: 'output';
      host: string;
      property: number | undefined;
      stdout: string;
      stderr: string;
    };

export type EventListener = (event: DeployEvent) => void;
