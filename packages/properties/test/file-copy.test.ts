import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, deploy } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { file } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('file-copy');

describe('file.isCopyOf', () => {
  it('copies a file on the target with its mode, shows the diff first, follows a change of the source', async () => {
    writeFileSync(`${t.root}/etc/consfig-source`, 'one\n', { mode: 0o640 });
    const copy = file.isCopyOf('/srv/copies/dest', '/etc/consfig-source');
    expect(await t.pending(copy)).toEqual([[{ path: '/srv/copies/dest', before: null, after: 'one\n' }]]);
    await t.twice(copy);
    expect(readFileSync(`${t.root}/srv/copies/dest`, 'utf8')).toBe('one\n');
    expect(statSync(`${t.root}/srv/copies/dest`).mode & 0o777).toBe(0o640);
    writeFileSync(`${t.root}/etc/consfig-source`, 'two\n');
    await t.twice(copy);
    expect(readFileSync(`${t.root}/srv/copies/dest`, 'utf8')).toBe('two\n');
  });

  it('fails naming a missing source, and leaves no temp file', async () => {
    const r = await deploy(defineHost('lib.example', [debian, file.isCopyOf('/srv/x', '/etc/no-such-file')]), [
      chroot(t.root),
    ]);
    expect(r.failures[0]?.error.message).toBe('/etc/no-such-file is not a file on lib.example');
    expect(t.inside('ls', '-A', '/srv/copies')).toBe('dest\n');
  });
});
