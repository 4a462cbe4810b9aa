import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployThese } from '@consfig/core';
import { file } from '../src/index.js';
import { chrootHost } from './support/chroot-host.js';

const t = chrootHost('file-edits');
const write = (path: string, text: string) => writeFileSync(`${t.root}${path}`, text);
const read = (path: string) => readFileSync(`${t.root}${path}`, 'utf8');

describe('file.containsConf*', () => {
  it('sets keys as Consfigurator does, in sshd_config style and for sh, and shows the diff first', async () => {
    write('/etc/consfig-space.conf', 'foo bar\n\n# one two\none three\n# one three\n');
    const space = file.containsConfSpace('/etc/consfig-space.conf', { foo: 'baz', one: 'four', two: 'five' });
    expect(await t.pending(space)).toEqual([
      [
        {
          path: '/etc/consfig-space.conf',
          before: 'foo bar\n\n# one two\none three\n# one three\n',
          after: 'foo baz\n\none four\n# one three\n# one three\ntwo five\n',
        },
      ],
    ]);
    await t.twice(space);
    expect(read('/etc/consfig-space.conf')).toBe('foo baz\n\none four\n# one three\n# one three\ntwo five\n');

    write('/etc/default/consfig', 'foo="bar baz"\n\n# bar=baz\nother="three word s"\n');
    await t.twice(
      file.containsConfShell('/etc/default/consfig', [
        ['bar', 'two words'],
        ['quux', 'one'],
        ['other', 'one'],
      ]),
    );
    expect(read('/etc/default/consfig')).toBe('foo="bar baz"\n\nbar="two words"\nother=one\nquux=one\n');
    // what sh makes of it is what was asked
    expect(t.inside('sh', '-c', '. /etc/default/consfig; printf "%s|%s" "$bar" "$other"')).toBe('two words|one');
  });

  it('writes the equals, unspaced and tab styles, creating a missing file', async () => {
    await t.twice(file.containsConfEquals('/etc/consfig/eq.conf', { memory_backing_dir: '"/dev/shm"' }));
    expect(read('/etc/consfig/eq.conf')).toBe('memory_backing_dir = "/dev/shm"\n');
    write('/etc/consfig/un.conf', '#max=1\nmaximum=2\n');
    await t.twice(file.containsConfUnspaced('/etc/consfig/un.conf', { max: '3' }));
    expect(read('/etc/consfig/un.conf')).toBe('max=3\nmaximum=2\n');
    await t.twice(file.containsConfTab('/etc/consfig/tab.conf', { a: 'b c' }));
    expect(read('/etc/consfig/tab.conf')).toBe('a\tb c\n');
  });
});

describe('file.regexReplacedLines and lacksLinesMatching', () => {
  it('replaces matching lines with back references, and removes lines matching any regex', async () => {
    write('/etc/consfig-re.conf', 'PermitRootLogin yes\n#PermitRootLogin prohibit-password\nPort 22\nkeep me\n');
    const replace = file.regexReplacedLines('/etc/consfig-re.conf', /^#?(PermitRootLogin) .*/, '$1 no');
    expect((await t.pending(replace))[0]![0]!.after).toBe('PermitRootLogin no\nPermitRootLogin no\nPort 22\nkeep me\n');
    await t.twice(replace);
    await t.twice(file.lacksLinesMatching('/etc/consfig-re.conf', '^PermitRoot', /^port/i));
    expect(read('/etc/consfig-re.conf')).toBe('keep me\n');
    // a global regex replaces every match on the line, and keeps no state between lines
    write('/etc/consfig-g.conf', 'a-a-a\nb\na\n');
    await t.twice(file.regexReplacedLines('/etc/consfig-g.conf', /a/g, 'x'));
    expect(read('/etc/consfig-g.conf')).toBe('x-x-x\nb\nx\n');
  });

  it('refuses bad input naming the argument', async () => {
    const results = await Promise.all([
      deployThese('local', file.regexReplacedLines('/tmp/x', '(', 'y')),
      deployThese('local', file.lacksLinesMatching('/tmp/x')),
      deployThese('local', file.containsConfSpace('/tmp/x', { 'two words': 'x' })),
      deployThese('local', file.containsConfEquals('/tmp/x', {})),
      deployThese('local', file.containsConfShell('relative', { a: 'b' })),
    ]);
    expect(results.map((r) => r.failures[0]?.error.message)).toEqual([
      expect.stringMatching(/^invalid argument 'regex' to file\.regexReplacedLines: is not a regular expression: /),
      "invalid argument 'regex' to file.lacksLinesMatching: give at least one regex",
      "invalid argument 'pairs.two words' to file.containsConfSpace: keys have no spaces, = or #",
      "invalid argument 'pairs' to file.containsConfEquals: give at least one key",
      "invalid argument 'path' to file.containsConfShell: must be an absolute path",
    ]);
  });
});
