import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, deploy, envSource } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { user } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

// perl -e 'print crypt("battery staple", q($6$saltsalt$))'
const HASH = '$6$saltsalt$CYKCUk3wfgAfOLU1N7LBdAOcnz7MHa8PPC6Qvzg2SE3emUjQnShp9I47xqbIijxhGRW/PXlgS02HgDVtAuivQ/';

const t = chrootHost('user');
const { twice, inside } = t;

describe('user', () => {
  it('accounts, shells, groups and homes', async () => {
    expect(await t.pending(user.hasAccount('alice'))).toEqual([
      [{ path: '/etc/passwd', before: 'absent', after: 'alice (useradd -m)', kind: 'metadata' }],
    ]);
    await twice(user.hasAccount('alice'));
    expect(await t.pending(user.inGroups('alice', 'alice', 'adm', 'staff'))).toEqual([
      [{ path: '/etc/group', before: 'alice in alice', after: 'alice also in adm, staff', kind: 'metadata' }],
    ]);
    await twice(
      user.hasAccount('alice'),
      user.hasLoginShell('alice', '/bin/bash'),
      user.inGroups('alice', 'adm', 'staff'),
    );
    expect(inside('getent', 'passwd', 'alice')).toMatch(/:\/bin\/bash\n$/);
    expect(inside('id', '-nG', 'alice')).toMatch(/adm.*staff/);
    execFileSync('rm', ['-rf', `${t.root}/home/alice`]);
    expect(await t.pending(user.hasHome('alice'))).toEqual([
      [{ path: '/home/alice', before: 'absent', after: 'directory owned by alice', kind: 'metadata' }],
    ]);
    await twice(user.hasHome('alice'));
    execFileSync('chown', ['0', `${t.root}/home/alice`]);
    expect(await t.pending(user.hasHome('alice'))).toEqual([
      [{ path: '/home/alice', before: 'directory owned by root', after: 'directory owned by alice', kind: 'metadata' }],
    ]);
    await twice(user.hasHome('alice'));
    expect(inside('stat', '-c', '%U %a', '/home/alice')).toBe('alice 755\n');
  });
});

describe('user ids and passwords', () => {
  const v = chrootHost('user-passwords', {
    data: [
      envSource('PW_', {
        PW_lib_example_passwd_bob: 'correct horse\n',
        PW_lib_example_passwd_carol: HASH,
      }),
    ],
  });

  it('groups and accounts with the ids asked for, moved when they differ', async () => {
    expect(await v.pending(user.groupExists('builders', { gid: 3000 }))).toEqual([
      [{ path: '/etc/group', before: 'absent', after: 'builders (gid 3000)', kind: 'metadata' }],
    ]);
    await v.twice(user.groupExists('builders', { gid: 3000 }));
    expect(v.inside('getent', 'group', 'builders')).toBe('builders:x:3000:\n');
    await v.twice(user.groupExists('builders', { gid: 3001 }));
    expect(v.inside('getent', 'group', 'builders')).toBe('builders:x:3001:\n');
    await v.twice(user.hasAccountWithUid('bob', 2001));
    await v.twice(user.hasAccountWithUid('bob', 2002));
    expect(v.inside('stat', '-c', '%u', '/home/bob')).toBe('2002\n');
    const taken = await deploy(defineHost('lib.example', [debian, user.hasAccountWithUid('carol', 2002)]), [
      chroot(v.root),
    ]);
    expect(taken.failures[0]?.error.message).toBe('uid 2002 belongs to bob on lib.example');
  });

  it('a password from data, as itself or as a hash, never shown; then locked and unlocked', async () => {
    await v.twice(user.hasAccount('carol'));
    const props = [user.hasEnabledPassword('bob'), user.hasEnabledPassword('carol')];
    expect(await v.pending(...props)).toEqual([
      [{ path: '/etc/shadow', before: null, after: null, kind: 'secret' }],
      [{ path: '/etc/shadow', before: null, after: null, kind: 'secret' }],
    ]);
    await v.twice(...props);
    const shadow = readFileSync(`${v.root}/etc/shadow`, 'utf8');
    expect(shadow).toContain(`carol:${HASH}:`);
    expect(shadow).not.toContain('correct horse');
    // bob's, hashed on the target, verifies against the password
    const bob = shadow
      .split('\n')
      .find((l) => l.startsWith('bob:'))!
      .split(':')[1]!;
    expect(v.inside('perl', '-e', 'print crypt("correct horse", $ARGV[0])', bob)).toBe(bob);

    await v.twice(user.hasLockedPassword('bob'));
    expect(v.inside('passwd', '-S', 'bob')).toMatch(/^bob L /);
    expect(await v.pending(user.hasEnabledPassword('bob'))).toHaveLength(1);
    await v.twice(user.hasEnabledPassword('bob'));
    expect(v.inside('passwd', '-S', 'bob')).toMatch(/^bob P /);
    const missing = await deploy(defineHost('lib.example', [debian, user.hasEnabledPassword('dave')]), [
      chroot(v.root),
    ]);
    expect(missing.failures[0]?.error.message).toMatch(/missing prerequisite data \(lib\.example, passwd:dave\)/);
  });
});
