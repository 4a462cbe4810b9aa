import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  lstatSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deployThese, InvalidArgumentError, type DeployEvent, type Propapp } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { file } from '../src/index.js';
import { busyboxTree } from '../../connections/test/support/machine.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'consfig-file-'));
});

/** Apply twice: the first run must change, the second must not. */
async function twice(prop: Propapp) {
  const events: DeployEvent[] = [];
  const first = await deployThese({ via: 'local', onEvent: (e) => events.push(e) }, prop);
  const second = await deployThese('local', prop);
  expect(first.failures.map((f) => f.error.message)).toEqual([]);
  expect([first.changed, second.changed, second.unchanged]).toEqual([1, 0, 1]);
  return events;
}

describe('file.hasContent', () => {
  it('writes the content with a trailing newline, creating the parent, then is unchanged', async () => {
    const path = join(dir, 'sub/motd');
    const events = await twice(file.hasContent(path, ['line one', 'line two']));
    expect(readFileSync(path, 'utf8')).toBe('line one\nline two\n');
    const end = events.find((e) => e.type === 'property:end');
    expect(end && end.type === 'property:end' && end.changes).toEqual([
      { path, before: null, after: 'line one\nline two\n' },
    ]);
  });

  it('sets mode and owner, and fixes a mode that drifted', async () => {
    const path = join(dir, 'secret');
    await twice(file.hasContent(path, 'x', { mode: '0600', owner: 'root', group: 'root' }));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, 'x\n', { mode: 0o644 });
    execFileSync('chmod', ['644', path]);
    const r = await deployThese('local', file.hasContent(path, 'x', { mode: 0o600 }));
    expect(r.changed).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes bytes exactly', async () => {
    const path = join(dir, 'bin');
    const bytes = Buffer.from([0, 255, 10, 39, 0]);
    await twice(file.hasContent(path, bytes));
    expect(Buffer.compare(readFileSync(path), bytes)).toBe(0);
  });

  it('reports the old and new content when changing a file (and changes nothing in a dry run)', async () => {
    const path = join(dir, 'conf');
    writeFileSync(path, 'old\n');
    const events: DeployEvent[] = [];
    const dry = await deployThese(
      { via: 'local', dryRun: true, onEvent: (e) => events.push(e) },
      file.hasContent(path, 'new'),
    );
    expect(dry.changed).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    const end = events.find((e) => e.type === 'property:end');
    expect(end?.type === 'property:end' && end.changes).toEqual([{ path, before: 'old\n', after: 'new\n' }]);
  });

  it('rejects bad arguments naming the property and argument', async () => {
    const result = await deployThese('local', file.hasContent('relative/path', 'x'));
    const error = result.failures[0]!.error as InvalidArgumentError;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ host: 'localhost', property: 'file.hasContent', argument: 'path' });
    const bad = await deployThese('local', file.hasContent('/tmp/x', 'x', { mode: '999' }));
    expect(bad.failures[0]!.error.message).toMatch(/argument 'options.mode'.*octal/);
    const typo = await deployThese('local', file.hasContent('/tmp/x', 'x', { mdoe: '0644' } as never));
    expect(typo.failures[0]!.error.message).toMatch(/mdoe/);
    const paths = await Promise.all(
      ['/tmp/a\0b', 7].map((p) => deployThese('local', file.hasContent(p as string, 'x'))),
    );
    expect(paths.map((r) => r.failures[0]?.error.message)).toEqual([
      "invalid argument 'path' to file.hasContent: must not contain a NUL byte",
      "invalid argument 'path' to file.hasContent: must be a path (a string)",
    ]);
  });
});

describe('file.containsLines and lacksLines', () => {
  it('appends missing lines only, then removes them', async () => {
    const path = join(dir, 'list');
    writeFileSync(path, 'keep\nb\n');
    await twice(file.containsLines(path, ['a', 'b', 'c']));
    expect(readFileSync(path, 'utf8')).toBe('keep\nb\na\nc\n');
    await twice(file.lacksLines(path, ['a', 'c']));
    expect(readFileSync(path, 'utf8')).toBe('keep\nb\n');
  });

  it('creates a missing file for containsLines and is satisfied by a missing one for lacksLines', async () => {
    const path = join(dir, 'new/list');
    const r = await deployThese('local', file.lacksLines(path, 'x'));
    expect(r.unchanged).toBe(1);
    await twice(file.containsLines(path, 'x'));
    expect(readFileSync(path, 'utf8')).toBe('x\n');
  });

  it('adds a newline to a file that lacks one before appending', async () => {
    const path = join(dir, 'nonl');
    writeFileSync(path, 'first');
    await twice(file.containsLines(path, 'second'));
    expect(readFileSync(path, 'utf8')).toBe('first\nsecond\n');
  });
});

describe('directories, links, removal, ini', () => {
  it('directoryExists with a mode', async () => {
    const path = join(dir, 'a/b/c');
    await twice(file.directoryExists(path, { mode: '0750' }));
    expect(statSync(path).isDirectory()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o750);
  });

  it('symlinked replaces a wrong link atomically', async () => {
    const link = join(dir, 'link');
    await twice(file.symlinked(link, '/etc/hostname'));
    expect(readlinkSync(link)).toBe('/etc/hostname');
    await twice(file.symlinked(link, '/etc/hosts'));
    expect(readlinkSync(link)).toBe('/etc/hosts');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('removed deletes files and refuses directories', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, '');
    writeFileSync(b, '');
    expect(await pending(file.removed(a, b, join(dir, 'never-there')))).toEqual([
      [
        { path: a, before: 'file', after: 'absent', kind: 'metadata' },
        { path: b, before: 'file', after: 'absent', kind: 'metadata' },
      ],
    ]);
    await twice(file.removed(a, b));
    expect(existsSync(a) || existsSync(b)).toBe(false);
    const r = await deployThese('local', file.removed(dir));
    expect(r.failures[0]!.error.message).toMatch(/is a directory/);
  });

  it('containsIniSettings edits in place', async () => {
    const path = join(dir, 'app.ini');
    writeFileSync(path, '[one]\ntwo=three\n');
    await twice(file.containsIniSettings(path, ['one', 'two', '2'], ['new', 'k', 'v']));
    expect(readFileSync(path, 'utf8')).toBe('[one]\ntwo=2\n\n[new]\nk=v\n');
  });
});

/** What a dry run says would change, property by property. */
async function pending(...props: Propapp[]) {
  const events: DeployEvent[] = [];
  const r = await deployThese({ via: 'local', dryRun: true, onEvent: (e) => events.push(e) }, ...props);
  expect(r.failures.map((f) => f.error.message)).toEqual([]);
  return events.flatMap((e) => (e.type === 'property:end' && e.status === 'changed' ? [e.changes] : []));
}

describe('check mode shows what would change', () => {
  it('for line edits, ini settings, links, directories and secrets, changing nothing', async () => {
    const list = join(dir, 'list');
    const ini = join(dir, 'app.ini');
    const link = join(dir, 'link');
    const sub = join(dir, 'sub');
    const secret = join(dir, 'secret');
    writeFileSync(list, 'keep\nold\n');
    writeFileSync(ini, '[s]\nk=1\n');
    writeFileSync(secret, 'the old secret\n', { mode: 0o640 });
    execFileSync('chown', ['nobody', secret]);
    const props = () => [
      file.containsLines(list, 'new'),
      file.lacksLines(list, 'old'),
      file.containsIniSettings(ini, ['s', 'k', '2']),
      file.symlinked(link, '/etc/hosts'),
      file.directoryExists(sub, { mode: 0o750 }),
      file.hasSecretContent(secret),
    ];
    const changes = await deployThese(
      { via: 'local', dryRun: true, data: [{ name: 'test', get: async () => Buffer.from('the new secret\n') }] },
      ...props(),
    );
    expect(changes.changed).toBe(6);
    const shown = await pendingWithData(...props());
    expect(shown).toEqual([
      [{ path: list, before: 'keep\nold\n', after: 'keep\nold\nnew\n' }],
      [{ path: list, before: 'keep\nold\n', after: 'keep\n' }],
      [{ path: ini, before: '[s]\nk=1\n', after: '[s]\nk=2\n' }],
      [{ path: link, before: 'absent', after: 'symlink to /etc/hosts', kind: 'metadata' }],
      [{ path: sub, before: 'absent', after: 'directory, mode 0750', kind: 'metadata' }],
      [
        { path: secret, before: null, after: null, kind: 'secret' },
        {
          path: secret,
          before: 'file, mode 0640, owner nobody:root',
          after: 'file, mode 0600, owner 0:0',
          kind: 'metadata',
        },
      ],
    ]);
    expect(JSON.stringify(shown)).not.toContain('secret\\n');
    expect(readFileSync(list, 'utf8')).toBe('keep\nold\n');
    expect(existsSync(link) || existsSync(sub)).toBe(false);
    expect(readFileSync(secret, 'utf8')).toBe('the old secret\n');
  });

  it('for a directory whose mode or owner drifted', async () => {
    const sub = join(dir, 'd');
    execFileSync('mkdir', ['-m', '0700', sub]);
    expect(await pending(file.directoryExists(sub, { mode: 0o755, owner: 'nobody' }))).toEqual([
      [
        {
          path: sub,
          before: 'directory, mode 0700, owner root:root',
          after: 'directory, mode 0755, owner nobody:root',
          kind: 'metadata',
        },
      ],
    ]);
  });
});

async function pendingWithData(...props: Propapp[]) {
  const events: DeployEvent[] = [];
  await deployThese(
    {
      via: 'local',
      dryRun: true,
      onEvent: (e) => events.push(e),
      data: [{ name: 'test', get: async () => Buffer.from('the new secret\n') }],
    },
    ...props,
  );
  return events.flatMap((e) => (e.type === 'property:end' && e.status === 'changed' ? [e.changes] : []));
}

describe('a symlink at the path', () => {
  function plantLink() {
    const target = join(dir, 'target');
    writeFileSync(target, 'from the target\n', { mode: 0o600 });
    execFileSync('chown', ['nobody:nogroup', target]);
    const link = join(dir, 'planted');
    symlinkSync(target, link);
    return { target, link };
  }

  it('is replaced by a new file, never followed, nothing of its target carried over', async () => {
    for (const prop of [
      (p: string) => file.containsLines(p, 'mine'),
      (p: string) => file.containsIniSettings(p, ['s', 'k', 'v']),
      (p: string) => file.hasContent(p, 'mine'),
    ]) {
      const { target, link } = plantLink();
      const r = await deployThese('local', prop(link));
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      const st = lstatSync(link);
      expect([st.isFile(), st.uid, st.gid, st.mode & 0o777]).toEqual([true, 0, 0, 0o644]);
      expect(readFileSync(link, 'utf8')).not.toContain('from the target');
      expect([readFileSync(target, 'utf8'), statSync(target).uid, statSync(target).mode & 0o777]).toEqual([
        'from the target\n',
        65534,
        0o600,
      ]);
      execFileSync('rm', ['-f', link, target]);
    }
  });

  it('is left alone by lacksLines (there are no lines of a file there to remove)', async () => {
    const { link } = plantLink();
    const r = await deployThese('local', file.lacksLines(link, 'from the target'));
    expect([r.unchanged, lstatSync(link).isSymbolicLink()]).toEqual([1, true]);
  });

  it('becomes a secret owned as named, mode 0600, whoever made the path first', async () => {
    const { target, link } = plantLink();
    const data = [{ name: 'test', get: async () => Buffer.from('s3cret\n') }];
    const r = await deployThese({ via: 'local', data }, file.hasSecretContent(link));
    expect(r.failures.map((f) => f.error.message)).toEqual([]);
    const st = lstatSync(link);
    expect([st.isFile(), st.uid, st.gid, st.mode & 0o777, readFileSync(link, 'utf8')]).toEqual([
      true,
      0,
      0,
      0o600,
      's3cret\n',
    ]);
    expect(readFileSync(target, 'utf8')).toBe('from the target\n');
    // a file someone else made first is taken over too
    const other = join(dir, 'made-by-nobody');
    writeFileSync(other, 'x', { mode: 0o644 });
    execFileSync('chown', ['nobody:nogroup', other]);
    await deployThese({ via: 'local', data }, file.hasSecretContent(other));
    expect([statSync(other).uid, statSync(other).gid, statSync(other).mode & 0o777]).toEqual([0, 0, 0o600]);
    expect((await deployThese({ via: 'local', data }, file.hasSecretContent(other))).unchanged).toBe(1);
    const owned = join(dir, 'for-nobody');
    await deployThese(
      { via: 'local', data },
      file.hasSecretContent(owned, { owner: 'nobody', group: 'nogroup', mode: '0640' }),
    );
    expect([statSync(owned).uid, statSync(owned).gid, statSync(owned).mode & 0o777]).toEqual([65534, 65534, 0o640]);
  });
});

describe('on a target with busybox alone (no GNU find, flock or perl)', () => {
  it('applies every file property once, then finds nothing to change, and check mode agrees', async () => {
    const root = busyboxTree('/var/lib/consfig-test/busybox');
    const via = [chroot(root)];
    const props = [
      file.hasContent('/etc/motd', 'hello from busybox', { mode: '0640' }),
      file.containsLines('/etc/list', ['a', 'b']),
      file.lacksLines('/etc/passwd', 'nobody:x:65534:65534:nobody:/:/bin/false'),
      file.containsIniSettings('/etc/app.ini', ['s', 'k', 'v']),
      // (a static busybox resolves no user names: numbers)
      file.directoryExists('/srv/data', { mode: 0o750, owner: '65534' }),
      file.symlinked('/etc/motd.link', '/etc/motd'),
      file.removed('/etc/gone'),
      file.hasContent('/etc/big', Buffer.alloc(200_000, 0x62)),
      ...Array.from({ length: 100 }, (_, i) => file.hasContent(`/srv/many/file-with-a-longer-name-${i}`, `${i}`)),
    ];
    writeFileSync(join(root, 'etc/gone'), 'x');
    const first = await deployThese({ via }, ...props);
    expect(first.failures.map((f) => f.error.message)).toEqual([]);
    expect(first.changed).toBe(props.length);
    const again = await deployThese({ via }, ...props);
    expect([again.changed, again.unchanged]).toEqual([0, props.length]);
    expect((await deployThese({ via, dryRun: true }, ...props)).changed).toBe(0);
    expect(statSync(join(root, 'etc/motd')).mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'srv/data')).uid).toBe(65534);
    expect(readlinkSync(join(root, 'etc/motd.link'))).toBe('/etc/motd');
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toBe('root:x:0:0:root:/root:/bin/sh\n');
    // a change made behind its back is seen
    writeFileSync(join(root, 'srv/many/file-with-a-longer-name-7'), 'changed');
    expect((await deployThese({ via, dryRun: true }, ...props)).changed).toBe(1);
  }, 120_000);
});
