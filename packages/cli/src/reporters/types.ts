import type { DeployEvent, HostResult } from '@consfig/core';

export interface Output {
  write(text: string): void;
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
}
