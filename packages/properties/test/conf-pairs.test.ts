/** Consfigurator's own examples for contains-conf-space and contains-conf-shell, as behaviour. */
import { describe, expect, it } from 'vitest';
import { confLine, setConfPairs, shellValue } from '../src/conf-pairs.js';

describe('setConfPairs', () => {
  it('space: reuses the first occurrence, commented or not, comments out live duplicates, appends the rest', () => {
    const edit = setConfPairs('space', [
      ['foo', 'baz'],
      ['one', 'four'],
      ['two', 'five'],
    ]);
    expect(edit(['foo bar', '', '# one two', 'one three', '# one three'])).toEqual([
      'foo baz',
      '',
      'one four',
      '# one three',
      '# one three',
      'two five',
    ]);
  });

  it('shell: uncomments, escapes values that need it, leaves other keys', () => {
    const edit = setConfPairs('shell', [
      ['bar', 'two words'],
      ['quux', 'one'],
      ['other', 'one'],
    ]);
    expect(edit(['foo="bar baz"', '', '# bar=baz', 'other="three word s"'])).toEqual([
      'foo="bar baz"',
      '',
      'bar="two words"',
      'other=one',
      'quux=one',
    ]);
  });

  it('does not take a longer key for the one asked, and writes each style', () => {
    expect(setConfPairs('equals', [['port', '22']])(['portal = x', '#port=1'])).toEqual(['portal = x', 'port = 22']);
    expect(setConfPairs('tab', [['a', 'b']])(['ab\tc'])).toEqual(['ab\tc', 'a\tb']);
    expect(confLine('unspaced', 'k', 'v w')).toBe('k=v w');
    expect(shellValue('it\'s "$HOME" `x` \\')).toBe('"it\'s \\"\\$HOME\\" \\`x\\` \\\\"');
    expect(shellValue('')).toBe('""');
  });
});
