/**
 * Collects one host's events into the block of lines printed when the host ends, so
 * parallel hosts never interleave: the host, each changed or failed property (and at
 * -v the unchanged ones), diffs, failure details, and a summary line.
 */
import { CommandFailedError, isErrorOf, type DeployEvent, type FileChange, type HostResult } from '@consfig/core';
import type { Style } from './colors.js';
import { renderDiff } from './diff.js';
import { errorDetails, errorHeadline } from './format-error.js';

type PropertyEnd = Extract<DeployEvent, { type: 'property:end' }>;

export function statusWord(status: PropertyEnd['status'], dryRun: boolean, s: Style): string {
  if (status === 'failed') return s.red('failed   ');
  if (status === 'changed') return s.yellow(dryRun ? 'would fix' : 'changed  ');
  return s.green('ok       ');
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

export function summaryText(r: HostResult, s: Style): string {
  if (r.status === 'unreachable') return s.red('unreachable');
  const parts = [
    r.changed > 0
      ? s.yellow(`${r.changed} ${r.dryRun ? 'to change' : 'changed'}`)
      : `0 ${r.dryRun ? 'to change' : 'changed'}`,
    `${r.unchanged} unchanged`,
    r.failed > 0 ? s.red(`${r.failed} failed`) : '0 failed',
  ];
  return parts.join(', ');
}

interface Entry {
  lines: string[];
  /** False until the property ends; unchanged ones are dropped unless -v. */
  show: boolean;
  /** Blocks of the hosts this property deployed (chroots, containers), shown under it. */
  nested: string[];
  pad: string;
}

/** How a change reads: a diff of file text, or for metadata and secrets a summary. */
export function renderChange(change: FileChange, pad: string, s: Style): string[] {
  if (change.kind === 'secret') return [`${pad}${s.yellow(`${change.path}: secret content would change (not shown)`)}`];
  if (change.kind === 'metadata')
    return [`${pad}${change.path}: ${s.red(change.before ?? 'absent')} → ${s.green(change.after ?? 'absent')}`];
  return renderDiff(change, pad, s);
}

export class HostBlock {
  /** In the order properties started, so nested ones print under their parent. */
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<number, Entry>();
  /** Errors shown under their property's line; the others get lines of their own. */
  private readonly shownErrors = new Set<unknown>();
  private chain = 'local';

  constructor(
    readonly host: string,
    private readonly verbosity: number,
    private readonly s: Style,
  ) {}

  private current(): Entry {
    const last = this.entries[this.entries.length - 1];
    if (last) return last;
    const entry = { lines: [], show: true, nested: [], pad: '  ' };
    this.entries.push(entry);
    return entry;
  }

  /** A nested host's finished block goes under the property that deployed it. */
  attachNested(property: number, lines: readonly string[]): boolean {
    const entry = this.byId.get(property);
    if (!entry) return false;
    entry.nested.push(...lines.map((l) => `${entry.pad}    ${l}`));
    return true;
  }

  add(event: DeployEvent): void {
    const s = this.s;
    switch (event.type) {
      case 'host:start':
        this.chain = event.chain;
        break;
      case 'property:start': {
        const entry = { lines: [], show: false, nested: [], pad: '  '.repeat(event.depth + 1) };
        this.entries.push(entry);
        this.byId.set(event.id, entry);
        break;
      }
      case 'property:end': {
        const entry = this.byId.get(event.id) ?? { lines: [], show: false, nested: [], pad: '' };
        const pad = '  '.repeat(event.depth + 1);
        entry.show = event.status !== 'unchanged' || this.verbosity >= 1;
        const details: string[] = [];
        for (const note of event.notes) details.push(`${pad}    ${s.dim(note)}`);
        if (event.error) {
          this.shownErrors.add(event.error);
          // A failed command's own details say what failed; anything else says it here.
          if (!isErrorOf(event.error, CommandFailedError)) details.push(`${pad}    ${s.red(event.error.message)}`);
          details.push(...errorDetails(event.error, `${pad}    `, this.verbosity, s));
        }
        // A combinator's changes are its steps', shown under them.
        if (event.leaf && event.changes.length > 0 && (event.dryRun || this.verbosity >= 1)) {
          for (const change of event.changes) details.push(...renderChange(change, `${pad}    `, s));
        }
        entry.lines.unshift(`${pad}${statusWord(event.status, event.dryRun, s)} ${event.desc}`, ...details);
        break;
      }
      case 'command':
        if (this.verbosity >= 2) {
          this.current().lines.push(
            `      ${s.dim(`$ ${event.argv.join(' ')}  → ${event.exitCode} (${formatDuration(event.durationMs)})`)}`,
          );
        }
        break;
      case 'output':
        if (this.verbosity >= 2) {
          for (const [name, text] of [
            ['stdout', event.stdout],
            ['stderr', event.stderr],
          ] as const) {
            if (text.trim() === '') continue;
            const body = text.endsWith('\n') ? text.slice(0, -1) : text;
            this.current().lines.push(...body.split('\n').map((l) => `        ${s.dim(`${name}|`)} ${l}`));
          }
        }
        break;
      default:
        break;
    }
  }

  /** The whole block, once the host has ended. */
  render(result: HostResult): string[] {
    const s = this.s;
    const mark = result.status === 'ok' ? s.green('✔') : s.red('✖');
    const out = [`${mark} ${s.bold(this.host)} ${s.dim(`(${this.chain})`)}`];
    for (const entry of this.entries)
      if (entry.show || entry.nested.length > 0) out.push(...entry.lines, ...entry.nested);
    // Failures no property line showed: unreachable hosts, refused hostattrs, a
    // combinator's own (asUser's hop refused).
    for (const failure of result.failures) {
      if (this.shownErrors.has(failure.error)) continue;
      out.push(`  ${s.red('error')}    ${errorHeadline(failure.error)}`);
      out.push(...errorDetails(failure.error, '      ', this.verbosity, s));
    }
    out.push(`  ${summaryText(result, s)} ${s.dim(`in ${formatDuration(result.durationMs)}`)}`);
    return out;
  }
}

/** A line that says a host waits for another deployment's lock, printed when it starts waiting. */
export function waitingLine(event: Extract<DeployEvent, { type: 'host:waiting' }>, s: Style): string {
  const bound = event.waitMs >= 3600_000 ? 'until it ends' : `up to ${+(event.waitMs / 1000).toFixed(1)} s`;
  return `${s.yellow('⧗')} ${s.bold(event.host)} waits (${bound}): ${event.chain} is locked by ${event.holder}`;
}

/**
 * The blocks of every host under way. A top-level host's block is printed whole when it
 * ends; a nested host's goes into its parent's block, under the property that built it.
 */
export class HostBlocks {
  private readonly blocks = new Map<string, HostBlock>();

  constructor(
    private readonly verbosity: number,
    private readonly s: Style,
  ) {}

  /** Take an event; returns lines to print now, if any. */
  add(event: DeployEvent): string[] | undefined {
    if (event.type === 'host:waiting') return [waitingLine(event, this.s)];
    let block = this.blocks.get(event.host);
    if (!block) {
      block = new HostBlock(event.host, this.verbosity, this.s);
      this.blocks.set(event.host, block);
    }
    block.add(event);
    if (event.type !== 'host:end') return undefined;
    this.blocks.delete(event.host);
    const lines = block.render(event.result);
    const parent = event.parent && this.blocks.get(event.parent.host);
    if (parent && parent.attachNested(event.parent!.property, lines)) return undefined;
    return lines;
  }
}
