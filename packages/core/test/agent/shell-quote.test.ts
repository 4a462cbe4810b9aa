import { describe, expect, it } from 'vitest';
import { quoteWord, quoteWordBytes, quoteWords, shellJoin, shellQuote } from '../../src/agent/shell-quote.js';

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

describe('quoteWords', () => {
  it('gives the bytes of each word quoted on its own, joined by spaces, plain or not', () => {
    const words = ['/srv/a b', '', 'é ☃', "it's", 'two\nlines', Buffer.from([0xff, 0x27, 0x0a]), '$HOME `x`'];
    const each = (ws: (string | Buffer)[]) =>
      Buffer.concat(ws.flatMap((w, i) => [...(i ? [Buffer.from(' ')] : []), quoteWordBytes(Buffer.from(w))]));
    expect(quoteWords(words)).toEqual(each(words));
    const plain = words.slice(0, 3).concat('$HOME `x`');
    expect(quoteWords(plain)).toEqual(each(plain));
    expect(quoteWords(plain).toString()).toBe("'/srv/a b' '' 'é ☃' '$HOME `x`'");
    for (const w of words) expect(quoteWord(w)).toEqual(quoteWordBytes(Buffer.from(w)));
  });

  it('refuses NUL in a string word too', () => {
    expect(() => quoteWords(['a', 'b\0c'])).toThrow(/NUL/);
    expect(() => quoteWord('b\0c')).toThrow(/NUL/);
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
