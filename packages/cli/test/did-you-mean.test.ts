import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../src/did-you-mean.js';

describe('did you mean', () => {
  it('measures edits, case aside', () => {
    expect(editDistance('hasContnet', 'hasContent')).toBe(2);
    expect(editDistance('HASCONTENT', 'hasContent')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only what is close enough to have been meant', () => {
    expect(closest('hasContnet', ['hasContent', 'hasMode', 'removed'])).toBe('hasContent');
    expect(closest('fiel', ['file', 'cmd', 'apt'])).toBe('file');
    expect(closest('frobnicate', ['file', 'cmd', 'apt'])).toBeUndefined();
  });

  it("puts the suggestion after the wrong name, for consfig's names only", () => {
    const load = (pkg: string) =>
      pkg === '@consfig/properties' ? { file: { hasContent: 1, hasMode: 1 }, apt: { installed: 1 } } : {};
    expect(didYouMean('file.hasContnet is not a function (at /c.ts:3)', load)).toBe(
      'file.hasContnet is not a function (did you mean file.hasContent?) (at /c.ts:3)',
    );
    expect(didYouMean("The requested module '@consfig/properties' does not provide an export named 'fiel'", load)).toBe(
      "The requested module '@consfig/properties' does not provide an export named 'fiel' (did you mean file?)",
    );
    expect(didYouMean('mine.hasContnet is not a function', load)).toBeUndefined();
    expect(didYouMean('file.frobnicate is not a function', load)).toBeUndefined();
    expect(didYouMean('Unexpected token', load)).toBeUndefined();
  });

  it('knows the names the packages export', () => {
    expect(didYouMean('apt.instaled is not a function')).toBe(
      'apt.instaled is not a function (did you mean apt.installed?)',
    );
    expect(didYouMean("module '@consfig/core' does not provide an export named 'defineHots'")).toMatch(
      /\(did you mean defineHost\?\)$/,
    );
  });
});
