import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, unapply } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, ssh, user } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('ssh-keys');

/** A fresh public key line, made here. */
function newKey(comment: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'consfig-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(dir, 'k')]);
  return readFileSync(join(dir, 'k.pub'), 'utf8').trim();
}

let uid = 0;
beforeAll(async () => {
  await t.twice(user.hasAccount('alice'));
  uid = Number(t.inside('id', '-u', 'alice'));
});

describe('ssh.authorizedKeys', () => {
  it("adds keys to alice's own 0600 file in a 0700 ~/.ssh, then only those with exact; takes them out", async () => {
    const [a, b, c] = [newKey('a'), newKey('b'), newKey('c')];
    const file = `${t.root}/home/alice/.ssh/authorized_keys`;
    expect(await t.pending(ssh.authorizedKeys('alice', [a, b]))).toEqual([
      [{ path: '/home/alice/.ssh/authorized_keys', before: null, after: `${a}\n${b}\n` }],
    ]);
    await t.twice(ssh.authorizedKeys('alice', [a, b]));
    expect([statSync(file).mode & 0o777, statSync(file).uid]).toEqual([0o600, uid]);
    expect([statSync(`${t.root}/home/alice/.ssh`).mode & 0o777, statSync(`${t.root}/home/alice/.ssh`).uid]).toEqual([
      0o700,
      uid,
    ]);
    // the same key with another comment is there already
    await t.twice(ssh.authorizedKeys('alice', [c, `${a.split(' ').slice(0, 2).join(' ')} renamed`]));
    expect(readFileSync(file, 'utf8')).toBe(`${a}\n${b}\n${c}\n`);
    await t.twice(ssh.authorizedKeys('alice', b, { exact: true }));
    expect(readFileSync(file, 'utf8')).toBe(`${b}\n`);
    await t.twice(unapply(ssh.authorizedKeys('alice', b)));
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('refuses what is not a public key, naming the argument', async () => {
    const r = await deploy(defineHost('lib.example', [debian, ssh.authorizedKeys('alice', 'AAAA not a key')]), 'local');
    expect(r.failures[0]?.error.message).toBe(
      "invalid argument 'keys' to ssh.authorizedKeys: must be one public key line ('ssh-ed25519 AAAA… comment')",
    );
  });
});

describe('known hosts and user keys', () => {
  it("keeps one key per type for a host, in alice's known_hosts and system-wide", async () => {
    const [old, now] = [newKey('old'), newKey('new')];
    const body = (k: string) => k.split(' ').slice(0, 2).join(' ');
    await t.twice(ssh.knownHost('alice', ['web1.example', '[127.0.0.1]:2222'], old));
    await t.twice(ssh.knownHost('alice', 'web1.example', now));
    expect(readFileSync(`${t.root}/home/alice/.ssh/known_hosts`, 'utf8')).toBe(`web1.example ${body(now)}\n`);
    await t.twice(ssh.systemKnownHost('web1.example', now));
    expect(readFileSync(`${t.root}/etc/ssh/ssh_known_hosts`, 'utf8')).toBe(`web1.example ${body(now)}\n`);
  });

  it("makes alice's key pair on the target, once, hers and private", { timeout: 300_000 }, async () => {
    const without = await deploy(defineHost('lib.example', [debian, ssh.hasUserKey('alice')]), [chroot(t.root)]);
    expect(without.failures[0]?.error.message).toBe(
      "ssh-keygen is not installed on lib.example (apt.installed('openssh-client') first)",
    );
    await t.twice(apt.installed('openssh-client'), ssh.hasUserKey('alice'));
    const key = `${t.root}/home/alice/.ssh/id_ed25519`;
    expect([statSync(key).mode & 0o777, statSync(key).uid]).toEqual([0o600, uid]);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^ssh-ed25519 \S+ alice@lib\.example\n$/);
    const before = readFileSync(key);
    await t.twice(ssh.hasUserKey('alice', { type: 'rsa' }));
    expect(readFileSync(key).equals(before)).toBe(true);
  });
});
