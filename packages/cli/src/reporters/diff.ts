/** Unified diffs of file changes, for check mode and -v. */
import type { FileChange } from '@consfig/core';
import { createRequire } from 'node:module';
import type { Style } from './colors.js';

// Loaded on first use: most runs print no diff.
let patcher: typeof import('diff').createTwoFilesPatch | undefined;

export function renderDiff(change: FileChange, pad: string, s: Style): string[] {
  patcher ??= (createRequire(import.meta.url)('diff') as typeof import('diff')).createTwoFilesPatch;
  const patch = patcher(
    change.before === null ? '/dev/null' : change.path,
    change.after === null ? '/dev/null' : change.path,
    change.before ?? '',
    change.after ?? '',
    undefined,
    undefined,
    { context: 3 },
  );
  return patch
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
    });
}
