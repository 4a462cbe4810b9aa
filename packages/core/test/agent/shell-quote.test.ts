import { describe, expect, it } from 'vitest';
import { quoteWord, shellJoin, shellQuote } from '../../src/agent/shell-quote.js';

describe('quoteWord', () => {
  it('never emits a raw newline, so every request stays one line', () => {
    expect(quoteWord('a\nb').toString()).toBe(`'a'"$__c_nl"'b'`);
    expect(quoteWord('\n').includes(0x0a)).toBe(false);
  });

  it('escapes single quotes outside the quotes', () => {
    expect(quoteWord("it's").toString()).toBe(`'it'\\''s'`);
    expect(quoteWord("'").toString()).toBe(`\\'`);
  });

  it('quotes the empty word', () => {
    expect(quoteWord('').toString()).toBe("''");
  });

  it('refuses NUL, which argv cannot carry', () => {
    expect(() => quoteWord(Buffer.from([0x61, 0, 0x62]))).toThrow(/NUL/);
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('abc-1.2/x')).toBe('abc-1.2/x');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellJoin(['echo', "it's"])).toBe(`echo 'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });
});
