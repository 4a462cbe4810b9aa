/** For logs and CI: each host's block printed whole when it ends, then the recap. */
import type { DeployEvent, HostResult } from '@consfig/core';
import { style } from './colors.js';
import { HostBlock } from './host-block.js';
import { recapTable } from './recap.js';
import type { Reporter, ReporterOptions } from './types.js';

export class PlainReporter implements Reporter {
  private readonly blocks = new Map<string, HostBlock>();
  private readonly s;

  constructor(private readonly options: ReporterOptions) {
    this.s = style(options.color);
  }

  onEvent(event: DeployEvent): void {
    let block = this.blocks.get(event.host);
    if (!block) {
      block = new HostBlock(event.host, this.options.verbosity, this.s);
      this.blocks.set(event.host, block);
    }
    block.add(event);
    if (event.type === 'host:end') {
      this.options.out.write(`${block.render(event.result).join('\n')}\n`);
      this.blocks.delete(event.host);
    }
  }

  end(results: readonly HostResult[]): void {
    if (results.length > 1 || this.options.verbosity >= 1) {
      this.options.out.write(`\n${recapTable(results, this.s).join('\n')}\n`);
    }
  }
}
