/** Strings that break naive quoting: for round-trip tests of the agent. */
export const HOSTILE_STRINGS: string[] = [
  '',
  ' ',
  "'",
  "''",
  '"',
  '\\',
  '\\\\n',
  '$(touch /tmp/consfig-pwned)',
  '`id`',
  '$HOME ${PATH} $0 $1 $@ $*',
  'a\nb',
  '\n',
  '\n\n\nend',
  'tab\there',
  'cr\r\nlf',
  'it\'s a "quote" \\\' mix',
  '; rm -rf / #',
  '&& echo no || echo nope | cat > /tmp/x',
  '-n',
  '--',
  '-e \\x41',
  '%s %d %%',
  '*',
  '~root',
  '\x01\x02\x1b[31m',
  'ünïcödé ✓ 日本語',
  '   leading and trailing   ',
  "'\n'\n'",
  'x'.repeat(100_000),
];

/** Bytes that are not valid UTF-8 (argv can hold them; NUL it cannot). */
export const HOSTILE_BYTES: Buffer[] = [
  Buffer.from([0xff, 0xfe, 0x80, 0x0a, 0x27, 0x5c]),
  Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
  Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)),
];
