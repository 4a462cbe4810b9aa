import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, envSource } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, ssh, sshd } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const keyDir = mkdtempSync(join(tmpdir(), 'consfig-hostkey-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', join(keyDir, 'k')]);
const HOST_KEY = readFileSync(join(keyDir, 'k'), 'utf8');
const HOST_PUB = readFileSync(join(keyDir, 'k.pub'), 'utf8').trim();

const t = chrootHost('sshd', {
  data: [envSource('K_', { K_lib_example_ssh_host_ed25519_key: HOST_KEY })],
});
beforeAll(async () => {
  await t.twice(apt.installed('openssh-server'));
}, 300_000);

/** sshd's effective setting, as sshd -T prints it. */
function effective(keyword: string): string | undefined {
  const out = t.inside('sh', '-c', 'mkdir -p /run/sshd; /usr/sbin/sshd -T');
  return out.split('\n').find((l) => l.startsWith(`${keyword.toLowerCase()} `));
}

describe('sshd', () => {
  it('writes a drop-in that sshd reads, showing it first', async () => {
    const props = sshd.configured({ PermitRootLogin: 'prohibit-password', MaxAuthTries: 3, X11Forwarding: false });
    const pending = await t.pending(props);
    expect(pending.flat().find((c) => c.path === '/etc/ssh/sshd_config.d/consfig.conf')?.after).toBe(
      '# Written by consfig\nPermitRootLogin prohibit-password\nMaxAuthTries 3\nX11Forwarding no\n',
    );
    await t.twice(props);
    expect([effective('MaxAuthTries'), effective('X11Forwarding')]).toEqual(['maxauthtries 3', 'x11forwarding no']);
  });

  it('refuses a setting sshd refuses, before writing anything', async () => {
    const r = await deploy(defineHost('lib.example', [debian, sshd.configured({ MaxAuthTries: 'many' }, 'bad')]), [
      chroot(t.root),
    ]);
    expect(r.failures[0]?.error.message).toMatch(/^sshd -t refuses these settings: .*MaxAuthTries/);
    expect(existsSync(`${t.root}/etc/ssh/sshd_config.d/bad.conf`)).toBe(false);
  });

  it('turns passwords off only once root has a key; puts a host key from data in place', async () => {
    const refused = await deploy(defineHost('lib.example', [debian, sshd.noPasswords()]), [chroot(t.root)]);
    expect(refused.failures[0]?.error.message).toMatch(/^root has no authorized_keys on lib\.example/);
    expect(existsSync(`${t.root}/etc/ssh/sshd_config.d/consfig-no-passwords.conf`)).toBe(false);
    await t.twice(ssh.authorizedKeys('root', HOST_PUB), sshd.noPasswords());
    expect(effective('PasswordAuthentication')).toBe('passwordauthentication no');

    await t.twice(sshd.hostKey('ed25519', HOST_PUB));
    expect(readFileSync(`${t.root}/etc/ssh/ssh_host_ed25519_key`, 'utf8')).toBe(HOST_KEY);
    expect(statSync(`${t.root}/etc/ssh/ssh_host_ed25519_key`).mode & 0o777).toBe(0o600);
    const derived = t.inside('ssh-keygen', '-y', '-f', '/etc/ssh/ssh_host_ed25519_key');
    expect(derived.split(' ').slice(0, 2)).toEqual(HOST_PUB.split(' ').slice(0, 2));
  });
});
