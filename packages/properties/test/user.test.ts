import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { user } from '../src/index.js';
import { chrootHost } from './support/chroot-host.js';

const t = chrootHost('user');
const { twice, inside } = t;

describe('user', () => {
  it('accounts, shells, groups and homes', async () => {
    await twice(
      user.hasAccount('alice'),
      user.hasLoginShell('alice', '/bin/bash'),
      user.inGroups('alice', 'adm', 'staff'),
    );
    expect(inside('getent', 'passwd', 'alice')).toMatch(/:\/bin\/bash\n$/);
    expect(inside('id', '-nG', 'alice')).toMatch(/adm.*staff/);
    execFileSync('rm', ['-rf', `${t.root}/home/alice`]);
    await twice(user.hasHome('alice'));
    expect(inside('stat', '-c', '%U %a', '/home/alice')).toBe('alice 755\n');
  });
});
