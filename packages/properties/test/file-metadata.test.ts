import { chmodSync, chownSync, lstatSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, deploy, deployThese } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { file, user } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('file-metadata');

describe('file.hasMode and hasOwnership', () => {
  it('set a mode and an owner by name or number, showing what changes first', async () => {
    writeFileSync(`${t.root}/srv/report`, 'x\n');
    chmodSync(`${t.root}/srv/report`, 0o644);
    const props = [
      user.hasAccount('alice'),
      file.hasMode('/srv/report', '0640'),
      file.hasOwnership('/srv/report', { owner: 'alice', group: 'adm' }),
    ];
    await t.twice(props[0]!);
    expect(await t.pending(...props.slice(1))).toEqual([
      [{ path: '/srv/report', before: 'file, mode 0644, owner root:root', after: 'mode 0640', kind: 'metadata' }],
      [{ path: '/srv/report', before: 'file, mode 0644, owner root:root', after: 'owner alice:adm', kind: 'metadata' }],
    ]);
    await t.twice(...props.slice(1));
    const uid = Number(t.inside('id', '-u', 'alice'));
    const adm = Number(t.inside('getent', 'group', 'adm').split(':')[2]);
    expect([statSync(`${t.root}/srv/report`).mode & 0o777, statSync(`${t.root}/srv/report`).uid]).toEqual([0o640, uid]);
    expect(statSync(`${t.root}/srv/report`).gid).toBe(adm);
    // a number is as good as the name it stands for; a group alone leaves the owner
    await t.twice(file.hasOwnership('/srv/report', { group: '0' }));
    expect([statSync(`${t.root}/srv/report`).uid, statSync(`${t.root}/srv/report`).gid]).toEqual([uid, 0]);
  });

  it("changes a link's own owner, never its target's; a missing path fails naming it", async () => {
    symlinkSync('/etc/hostname', `${t.root}/srv/link`);
    chownSync(`${t.root}/etc/hostname`, 0, 0);
    await t.twice(file.hasOwnership('/srv/link', { owner: 'nobody' }));
    expect(lstatSync(`${t.root}/srv/link`).uid).toBe(Number(t.inside('id', '-u', 'nobody')));
    expect(statSync(`${t.root}/etc/hostname`).uid).toBe(0);
    const missing = await deploy(defineHost('lib.example', [debian, file.hasMode('/srv/nothing', 0o600)]), [
      chroot(t.root),
    ]);
    expect(missing.failures[0]?.error.message).toBe('/srv/nothing does not exist on lib.example');
    const bad = await deployThese('local', file.hasOwnership('/tmp', {}));
    expect(bad.failures[0]?.error.message).toBe(
      "invalid argument 'ownership' to file.hasOwnership: give owner, group or both",
    );
  });
});
