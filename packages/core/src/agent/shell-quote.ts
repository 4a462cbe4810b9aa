/**
 * Quoting for the agent's request lines. Every request is exactly one line, so a word
 * may not contain a raw newline: newlines are spliced in from the agent's `$__c_nl`
 * variable. Single quotes keep every other byte literal, so argv of any bytes (but NUL,
 * which argv cannot hold) reaches the target unchanged.
 */
import { InvalidRequestError } from '../errors.js';

const NEWLINE = 0x0a;
const QUOTE = 0x27;

/** Quote one word as bytes. */
export function quoteWordBytes(word: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let open = false;
  const openQuote = () => {
    if (!open) parts.push(Buffer.from("'"));
    open = true;
  };
  const closeQuote = () => {
    if (open) parts.push(Buffer.from("'"));
    open = false;
  };
  for (let i = 0; i < word.length; i++) {
    const byte = word[i];
    if (byte === NEWLINE || byte === QUOTE) {
      if (i > start) {
        openQuote();
        parts.push(Buffer.from(word.subarray(start, i)));
      }
      closeQuote();
      parts.push(Buffer.from(byte === NEWLINE ? '"$__c_nl"' : "\\'"));
      start = i + 1;
    } else if (byte === 0) {
      throw new InvalidRequestError('a shell word cannot contain a NUL byte');
    }
  }
  if (word.length > start || parts.length === 0) {
    openQuote();
    parts.push(Buffer.from(word.subarray(start)));
  }
  closeQuote();
  return Buffer.concat(parts);
}

/** What a string word must not hold to be quoted whole (most paths and arguments). */
const SPECIAL = /[\n'\0]/;
const plain = (word: string | Uint8Array): word is string => typeof word === 'string' && !SPECIAL.test(word);

/** Quote one word given as a string (UTF-8) or bytes. */
export function quoteWord(word: string | Uint8Array): Buffer {
  if (plain(word)) return Buffer.from(`'${word}'`);
  return quoteWordBytes(typeof word === 'string' ? Buffer.from(word, 'utf8') : word);
}

/** Quote several words, joined by spaces. */
export function quoteWords(words: readonly (string | Uint8Array)[]): Buffer {
  // One string and one buffer where every word is plain: a probe of many paths would make
  // a handful of small buffers a path.
  if (words.every(plain)) return Buffer.from(words.map((w) => `'${w}'`).join(' '));
  const out: Buffer[] = [];
  words.forEach((w, i) => {
    if (i > 0) out.push(Buffer.from(' '));
    out.push(quoteWord(w));
  });
  return Buffer.concat(out);
}

/**
 * Ordinary POSIX single-quoting for text handed to `sh -c` or to ssh (which joins its
 * argv into one command line): newlines may stay raw there.
 */
export function shellQuote(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
