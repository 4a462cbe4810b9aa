/**
 * For terminals: one live line per running host (spinner, progress, current property),
 * redrawn in place; a host's full block is printed above the live lines when it ends.
 */
import type { DeployEvent, HostResult } from '@consfig/core';
import { style } from './colors.js';
import { formatDuration, HostBlocks } from './host-block.js';
import { recapTable } from './recap.js';
import type { Reporter, ReporterOptions } from './types.js';

/** performance.now() without loading node:perf_hooks (~1 ms of a start). */
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Live {
  done: number;
  total: number;
  current: string;
  started: number;
}

export class TtyReporter implements Reporter {
  private readonly blocks;
  private readonly live = new Map<string, Live>();
  private readonly s;
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReporterOptions) {
    this.s = style(options.color);
    this.blocks = new HostBlocks(options.verbosity, this.s);
  }

  onEvent(event: DeployEvent): void {
    const lines = this.blocks.add(event);
    switch (event.type) {
      case 'host:start':
        this.live.set(event.host, {
          done: 0,
          total: event.properties,
          current: 'connecting',
          started: nowMs(),
        });
        this.ensureTimer();
        break;
      case 'property:start': {
        const live = this.live.get(event.host);
        if (live) live.current = event.desc;
        break;
      }
      case 'property:end': {
        const live = this.live.get(event.host);
        if (live && event.leaf) live.done++;
        break;
      }
      case 'host:waiting': {
        const live = this.live.get(event.host);
        if (live) live.current = `waiting for the lock held by ${event.holder}`;
        break;
      }
      case 'host:end':
        this.live.delete(event.host);
        break;
      default:
        break;
    }
    if (lines) this.print(lines);
  }

  pause(): void {
    this.stopTimer();
    this.clear();
  }

  resume(): void {
    if (this.live.size > 0) this.ensureTimer();
  }

  end(results: readonly HostResult[]): void {
    this.stopTimer();
    this.clear();
    if (results.length > 1 || this.options.verbosity >= 1) {
      this.options.out.write(`\n${recapTable(results, this.s).join('\n')}\n`);
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.frame++;
      this.draw();
    }, 80);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private print(lines: string[]): void {
    this.clear();
    this.options.out.write(`${lines.join('\n')}\n`);
    this.draw();
  }

  private clear(): void {
    if (this.drawn > 0) this.options.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.clear();
    const width = Math.max(40, (this.options.out.columns ?? 100) - 1);
    const lines = [...this.live].map(([host, live]) => {
      const spin = this.s.cyan(SPINNER[this.frame % SPINNER.length]!);
      const progress = `${live.done}/${live.total}`;
      const time = formatDuration(nowMs() - live.started);
      const text = `${host}  ${progress}  ${time}  ${live.current}`;
      return `${spin} ${text.length > width - 2 ? `${text.slice(0, width - 3)}…` : text}`;
    });
    if (lines.length > 0) this.options.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
