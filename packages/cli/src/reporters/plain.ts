/**
 * For logs and CI: each host's block printed whole when it ends, then the recap. So that
 * a long deploy is not silent meanwhile, a host whose current property has run for a
 * while gets a heartbeat line naming it (every `heartbeatMs`, 10 s by default).
 */
import type { DeployEvent, HostResult } from '@consfig/core';
import { style } from './colors.js';
import { formatDuration, HostBlocks } from './host-block.js';
import { recapTable } from './recap.js';
import type { Reporter, ReporterOptions } from './types.js';

interface Running {
  /** Descriptions of the properties under way, innermost last. */
  stack: { id: number; desc: string }[];
  since: number;
  lastBeat: number;
  /** Connected; and waiting for another deployment's lock until its first property starts. */
  connected: boolean;
  waiting: boolean;
}

export class PlainReporter implements Reporter {
  private readonly blocks;
  private readonly s;
  private readonly running = new Map<string, Running>();
  private readonly heartbeatMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: ReporterOptions & { heartbeatMs?: number }) {
    this.s = style(options.color);
    this.blocks = new HostBlocks(options.verbosity, this.s);
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
  }

  onEvent(event: DeployEvent): void {
    this.track(event);
    const lines = this.blocks.add(event);
    if (lines) this.options.out.write(`${lines.join('\n')}\n`);
  }

  private track(event: DeployEvent): void {
    const now = Date.now();
    if (event.type === 'host:start') {
      this.running.set(event.host, { stack: [], since: now, lastBeat: now, connected: false, waiting: false });
      this.timer ??= setInterval(() => this.beat(), Math.min(1000, this.heartbeatMs));
      this.timer.unref?.();
    } else if (event.type === 'host:end') {
      this.running.delete(event.host);
    } else if (event.type === 'host:connected' || event.type === 'host:waiting') {
      const r = this.running.get(event.host);
      if (r) {
        r.connected = true;
        r.waiting ||= event.type === 'host:waiting';
      }
    } else if (event.type === 'property:start') {
      const r = this.running.get(event.host);
      if (r) {
        r.stack.push({ id: event.id, desc: event.desc });
        r.since = now;
        r.waiting = false;
      }
    } else if (event.type === 'property:end') {
      const r = this.running.get(event.host);
      if (r) r.stack = r.stack.filter((p) => p.id !== event.id);
    }
  }

  private beat(): void {
    const now = Date.now();
    for (const [host, r] of this.running) {
      if (now - r.lastBeat < this.heartbeatMs || now - r.since < this.heartbeatMs) continue;
      r.lastBeat = now;
      const at = r.stack[r.stack.length - 1]?.desc;
      const what = at
        ? `${this.options.dryRun ? 'checking' : 'at'} ${at}`
        : r.waiting
          ? 'waiting for the lock'
          : r.connected
            ? 'starting'
            : 'connecting';
      this.options.out.write(`${this.s.dim(`… ${host}: still ${what} (${formatDuration(now - r.since)})`)}\n`);
    }
  }

  end(results: readonly HostResult[]): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (results.length > 1 || this.options.verbosity >= 1) {
      this.options.out.write(`\n${recapTable(results, this.s).join('\n')}\n`);
    }
  }
}
