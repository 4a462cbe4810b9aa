import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { chroot, sudo } from '../src/index.js';
import { exercise, mntNamespaceOf, namespaceInUse } from './support/exercise.js';
import { mountsBelow, TEST_USER, unpackRootfs, useSshd } from './support/machine.js';

const sshd = useSshd();
let rootfs: string;
beforeAll(() => {
  rootfs = unpackRootfs('/var/lib/consfig-test/chroot-connections');
}, 300_000);

describe('chroot', () => {
  it('local → chroot: mounts live only in the connection, services are denied', async () => {
    const conn = await openConnection([chroot(rootfs)]);
    expect((await conn.readFile('/etc/debian_version')).toString()).toMatch(/^12\./);
    const mounts = (await conn.readFile('/proc/self/mountinfo')).toString();
    for (const m of [' /proc ', ' /sys ', ' /dev ', ' /dev/pts ', ' /run ']) expect(mounts).toContain(m);
    const policy = await conn.run(['/usr/sbin/policy-rc.d', 'apache2', 'start']);
    expect(policy.exitCode).toBe(101);
    await exercise(conn, '/root');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
    expect(existsSync(join(rootfs, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(readFileSync(join(rootfs, 'root/hostile-0'), 'utf8')).toBe('');
  }, 120_000);

  it('ssh → sudo → chroot', async () => {
    const conn = await openConnection([sshd.hop(TEST_USER), sudo(), chroot(rootfs)]);
    expect((await conn.run(['cat', '/etc/os-release'])).stdout.toString()).toMatch(/bookworm/);
    await exercise(conn, '/tmp');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
  }, 120_000);

  it('chroot → chroot → chroot: at any depth, its mounts gone with it', async () => {
    const outer = unpackRootfs('/var/lib/consfig-test/chroot-nest');
    unpackRootfs(join(outer, 'srv/middle'));
    unpackRootfs(join(outer, 'srv/middle/srv/inner'));
    writeFileSync(join(outer, 'srv/middle/srv/inner/etc/where'), 'innermost\n');
    const conn = await openConnection([chroot(outer), chroot('/srv/middle'), chroot('/srv/inner')]);
    expect((await conn.readFile('/etc/where')).toString()).toBe('innermost\n');
    expect((await conn.run(['sh', '-c', 'apt-get --version >/dev/null && echo ok'])).stdout.toString()).toBe('ok\n');
    await exercise(conn, '/root');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
    expect(mountsBelow(outer)).toEqual([]);
  }, 120_000);

  it('a missing chroot fails the host with the hop named', async () => {
    const error = await openConnection([chroot('/nonexistent/root')]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/chroot:\/nonexistent\/root.*is not a directory/);
  });
});
