import { applyPatch, formatPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { blockHunk, renderDiff } from '../../src/reporters/diff.js';
import { style } from '../../src/reporters/colors.js';

const plain = style(false);

/** The patch's text back from what renderDiff printed (its lines, without the pad). */
const patchOf = (lines: string[]) => `${lines.filter((l) => !l.startsWith('(too many')).join('\n')}\n`;

describe('renderDiff', () => {
  it('shows a change line by line, with three lines of context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\n';
    const lines = renderDiff({ path: '/etc/x', before, after }, '', plain);
    expect(lines).toEqual([
      '--- /etc/x',
      '+++ /etc/x',
      '@@ -1,7 +1,7 @@',
      ' a',
      ' b',
      ' c',
      '-d',
      '+D',
      ' e',
      ' f',
      ' g',
    ]);
    expect(applyPatch(before, patchOf(lines))).toBe(after);
  });

  it('shows a change too large to compare in time as one block, which still patches before into after', () => {
    const old = Array.from({ length: 20000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    const before = `head\n${old.join('\n')}\ntail\n`;
    const after = `head\n${old.map((l, i) => (i % 7 === 0 ? `${l} changed` : l)).join('\n')}\ntail\n`;
    const lines = renderDiff({ path: '/srv/big', before, after }, '  ', plain, 1);
    expect(lines[0]).toBe('  (too many changes to compare line by line: what differs shown as one block)');
    expect(lines.slice(1, 4)).toEqual(['  --- /srv/big', '  +++ /srv/big', '  @@ -1,20002 +1,20002 @@']);
    expect(lines[4]).toBe('   head');
    expect(lines.at(-1)).toBe('   tail');
    expect(applyPatch(before, patchOf(lines.map((l) => l.slice(2))))).toBe(after);
  });
});

describe('blockHunk', () => {
  // Texts from a few lines, with and without their last line's end: every pair patches.
  const pieces = [
    '',
    'a\n',
    'b\n',
    'a\nb\n',
    'x',
    'a\nx',
    'a\nb\nc\nd\ne\nf\ng\nh\n',
    'a\nb\nc\nd\nE\nf\ng\nh',
    'q\nb\n',
  ];
  for (const before of pieces) {
    for (const after of pieces) {
      if (before === after) continue;
      it(`${JSON.stringify(before)} → ${JSON.stringify(after)}`, () => {
        const patch = formatPatch({
          oldFileName: 'f',
          newFileName: 'f',
          oldHeader: undefined,
          newHeader: undefined,
          hunks: [blockHunk(before, after)],
        });
        expect(applyPatch(before, patch)).toBe(after);
      });
    }
  }

  it('keeps the common first and last lines out of the block, but three of each as context', () => {
    const before = '1\n2\n3\n4\n5\nold\n6\n7\n8\n9\n';
    const after = '1\n2\n3\n4\n5\nnew\nnewer\n6\n7\n8\n9\n';
    expect(blockHunk(before, after)).toEqual({
      oldStart: 3,
      oldLines: 7,
      newStart: 3,
      newLines: 8,
      lines: [' 3', ' 4', ' 5', '-old', '+new', '+newer', ' 6', ' 7', ' 8'],
    });
  });
});
