import type { DeployEvent, HostResult } from '@consfig/core';

export interface Output {
  /** Text from reporters; bytes from `consfig run`. False asks the writer to wait for 'drain'. */
  write(chunk: string | Uint8Array): boolean | void;
  once?(event: 'drain', listener: () => void): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ReporterOptions {
  /** 0 default, 1 `-v`, 2 `-vv`. */
  verbosity: number;
  dryRun: boolean;
  color: boolean;
  out: Output;
}

/** Turns engine events into output. One instance serves one CLI run. */
export interface Reporter {
  onEvent(event: DeployEvent): void;
  /** After every host has ended. */
  end(results: readonly HostResult[]): void;
  /** Step aside while the person at the terminal is asked something, and come back. */
  pause?(): void;
  resume?(): void;
}
