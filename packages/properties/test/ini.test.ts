import { describe, expect, it } from 'vitest';
import { setIniSettings } from '../src/ini.js';

describe('setIniSettings', () => {
  it("behaves like Consfigurator's contains-ini-settings test", () => {
    const input = '[one]\ntwo=three\n\n[other]\n; bar = ba\nbar = baz baz quux\n';
    const out = setIniSettings(input, [
      ['one', 'four', 'five'],
      ['another', 'k', 'v'],
      ['other', 'bar', 'baz'],
      ['another', 'key', 'val'],
      ['finally', 'this', 'one'],
    ]);
    expect(out).toBe(
      [
        '[one]',
        'two=three',
        'four=five',
        '',
        '[other]',
        'bar=baz',
        '# bar=baz baz quux',
        '',
        '[another]',
        'k=v',
        'key=val',
        '',
        '[finally]',
        'this=one',
        '',
      ].join('\n'),
    );
  });

  it('is idempotent', () => {
    const settings = [
      ['s', 'a', '1'],
      ['t', 'b', '2'],
    ] as const;
    const once = setIniSettings('[s]\na = 0\n', settings);
    expect(setIniSettings(once, settings)).toBe(once);
  });

  it('creates a file from nothing', () => {
    expect(setIniSettings('', [['x', 'y', 'z']])).toBe('[x]\ny=z\n');
  });
});
