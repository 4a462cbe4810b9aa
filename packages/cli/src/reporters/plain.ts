/** For logs and CI: each host's block printed whole when it ends, then the recap. */
import type { DeployEvent, HostResult } from '@consfig/core';
import { style } from './colors.js';
import { HostBlocks } from './host-block.js';
import { recapTable } from './recap.js';
import type { Reporter, ReporterOptions } from './types.js';

export class PlainReporter implements Reporter {
  private readonly blocks;
  private readonly s;

  constructor(private readonly options: ReporterOptions) {
    this.s = style(options.color);
    this.blocks = new HostBlocks(options.verbosity, this.s);
  }

  onEvent(event: DeployEvent): void {
    const lines = this.blocks.add(event);
    if (lines) this.options.out.write(`${lines.join('\n')}\n`);
  }

  end(results: readonly HostResult[]): void {
    if (results.length > 1 || this.options.verbosity >= 1) {
      this.options.out.write(`\n${recapTable(results, this.s).join('\n')}\n`);
    }
  }
}
