/** Unified diffs of file changes, for check mode and -v. */
import type { FileChange } from '@consfig/core';
import { createRequire } from 'node:module';
import type { Style } from './colors.js';

type Diff = typeof import('diff');
type Hunk = ReturnType<Diff['structuredPatch']>['hunks'][number];

// Loaded on first use: most runs print no diff.
let diffLib: Diff | undefined;

/**
 * How long a line-by-line diff of one file may take: jsdiff's is O(N·D), so a file of
 * 20,000 lines with a few thousand changed ones took ~3 s here. Past it the change is
 * shown as one block (blockPatch): as true, only coarser.
 */
export const DIFF_TIMEOUT_MS = 250;

const CONTEXT = 3;

export function renderDiff(change: FileChange, pad: string, s: Style, timeoutMs = DIFF_TIMEOUT_MS): string[] {
  diffLib ??= createRequire(import.meta.url)('diff') as Diff;
  const oldName = change.before === null ? '/dev/null' : change.path;
  const newName = change.after === null ? '/dev/null' : change.path;
  const before = change.before ?? '';
  const after = change.after ?? '';
  let note: string[] = [];
  let patch = diffLib.createTwoFilesPatch(oldName, newName, before, after, undefined, undefined, {
    context: CONTEXT,
    timeout: timeoutMs,
  });
  if (patch === undefined) {
    note = [`${pad}${s.dim('(too many changes to compare line by line: what differs shown as one block)')}`];
    patch = diffLib.formatPatch({
      oldFileName: oldName,
      newFileName: newName,
      oldHeader: undefined,
      newHeader: undefined,
      hunks: [blockHunk(before, after)],
    });
  }
  return [
    ...note,
    ...patch
      .split('\n')
      .slice(1) // the "Index"/separator line
      .filter((line, i, all) => !(i === all.length - 1 && line === ''))
      .filter((line) => !/^={10,}$/.test(line))
      .map((line) => {
        const colored = line.startsWith('+')
          ? s.green(line)
          : line.startsWith('-')
            ? s.red(line)
            : line.startsWith('@@')
              ? s.cyan(line)
              : line;
        return `${pad}${colored}`;
      }),
  ];
}

/** Lines with their line ends (the last may have none). */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * One hunk for two texts that differ: every line between their common first and common
 * last lines removed and added, with the usual context around it.
 */
export function blockHunk(before: string, after: string): Hunk {
  const a = linesOf(before);
  const b = linesOf(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const start = Math.max(0, head - CONTEXT);
  const endA = Math.min(a.length, a.length - tail + CONTEXT);
  const endB = b.length - (a.length - endA);
  // A line without its end is the file's last: patch says so after it.
  const line = (mark: string, text: string) =>
    text.endsWith('\n') ? [mark + text.slice(0, -1)] : [mark + text, '\\ No newline at end of file'];
  const lines = [
    ...a.slice(start, head).flatMap((l) => line(' ', l)),
    ...a.slice(head, a.length - tail).flatMap((l) => line('-', l)),
    ...b.slice(head, b.length - tail).flatMap((l) => line('+', l)),
    ...a.slice(a.length - tail, endA).flatMap((l) => line(' ', l)),
  ];
  return { oldStart: start + 1, oldLines: endA - start, newStart: start + 1, newLines: endB - start, lines };
}
