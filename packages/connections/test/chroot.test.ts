import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { chroot, sudo } from '../src/index.js';
import { exercise, mntNamespaceOf, namespaceInUse } from './support/exercise.js';
import { mountsBelow, TEST_USER, unpackRootfs, useSshd } from './support/machine.js';

const sshd = useSshd();

/** The command name of a process's parent. */
function parentOf(pid: number): string {
  const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ')[1];
  return readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
}
/** A PATH with the tools the chroot's shell way needs and no perl; inside the tree, env. */
function noPerlPath(tree: string): string {
  const bin = mkdtempSync('/tmp/consfig-noperl-');
  const tools = ['sh', 'unshare', 'mkdir', 'mount', 'mktemp', 'chmod', 'chroot', 'umount', 'rm', 'stat', 'find'];
  for (const tool of tools) {
    symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
  }
  mkdirSync(join(tree, bin), { recursive: true });
  symlinkSync('/usr/bin/env', join(tree, bin, 'env'));
  return bin;
}

function forgetPath(tree: string, bin: string): void {
  rmSync(bin, { recursive: true, force: true });
  rmSync(join(tree, bin), { recursive: true, force: true });
}

let rootfs: string;
beforeAll(() => {
  rootfs = unpackRootfs('/var/lib/consfig-test/chroot-connections');
}, 300_000);

describe('chroot', () => {
  it('local → chroot: mounts live only in the connection, services are denied', async () => {
    const conn = await openConnection([chroot(rootfs)]);
    expect((await conn.readFile('/etc/debian_version')).toString()).toMatch(/^12\./);
    const mounts = (await conn.readFile('/proc/self/mountinfo')).toString();
    for (const m of [' /proc ', ' /sys ', ' /dev ', ' /dev/pts ', ' /run ', ' /run/lock ']) {
      expect(mounts).toContain(m);
    }
    const policy = await conn.run(['/usr/sbin/policy-rc.d', 'apache2', 'start']);
    expect(policy.exitCode).toBe(101);
    expect(parentOf(conn.pid)).toBe('perl'); // one perl process set it up, and waits
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

  it('without perl, the shell way: the same mounts, denial and cleanup', async () => {
    const bin = noPerlPath(rootfs);
    try {
      // (the chain from the start: not this process's reads and writes in the tree)
      const conn = await openConnection([chroot(rootfs)], { env: { PATH: bin }, inProcess: false });
      expect(parentOf(conn.pid)).toBe('sh');
      const mounts = (await conn.readFile('/proc/self/mountinfo')).toString();
      for (const m of [' /proc ', ' /sys ', ' /dev ', ' /dev/pts ', ' /run ', ' /run/lock ']) {
        expect(mounts).toContain(m);
      }
      expect((await conn.run(['/usr/sbin/policy-rc.d', 'apache2', 'start'])).exitCode).toBe(101);
      const ns = mntNamespaceOf(conn.pid);
      await conn.close();
      expect(namespaceInUse(ns)).toBe(false);
      expect(existsSync(join(rootfs, 'usr/sbin/policy-rc.d'))).toBe(false);
    } finally {
      forgetPath(rootfs, bin);
    }
  }, 120_000);

  it('sees what is mounted inside the tree, as chroot(8) does, both ways', async () => {
    const inside = join(rootfs, 'mnt/extra');
    mkdirSync(inside, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inside]);
    const bin = noPerlPath(rootfs);
    try {
      writeFileSync(join(inside, 'here'), 'mounted\n');
      const shown = execFileSync('chroot', [rootfs, 'cat', '/mnt/extra/here'], { encoding: 'utf8' });
      // this process's read in the tree, then the perl and the shell ways
      for (const [env, inProcess] of [
        [{}, true],
        [{}, false],
        [{ PATH: bin }, false],
      ] as const) {
        const conn = await openConnection([chroot(rootfs)], { env, inProcess });
        expect((await conn.readFile('/mnt/extra/here')).toString()).toBe(shown);
        await conn.close();
      }
    } finally {
      forgetPath(rootfs, bin);
      execFileSync('umount', [inside]);
    }
    expect(mountsBelow(rootfs)).toEqual([]);
  }, 120_000);

  it("shares the tree's deployment lock among all chains into it, and only that tree's", async () => {
    const other = unpackRootfs('/var/lib/consfig-test/chroot-lock-other');
    const first = await openConnection([chroot(rootfs)]);
    const second = await openConnection([chroot(rootfs)]);
    const elsewhere = await openConnection([chroot(other)]);
    try {
      await first.lock({ holder: 'consfig pid 1 (first)', waitMs: 1000 });
      await expect(second.lock({ holder: 'consfig pid 2 (second)', waitMs: 500 })).rejects.toThrow(
        /is being deployed by consfig pid 1 \(first\)/,
      );
      await elsewhere.lock({ holder: 'consfig pid 3 (another tree)', waitMs: 500 });
      await first.close();
      await second.lock({ holder: 'consfig pid 2 (second)', waitMs: 2000 });
    } finally {
      await first.close();
      await second.close();
      await elsewhere.close();
    }
    // Held in a directory of the host's, one per tree, not in the tree.
    const { dev, ino } = statSync(rootfs);
    expect(readFileSync(`/run/lock/consfig-chroots/${dev}-${ino}/consfig.lock`, 'utf8')).toBe(
      'consfig pid 2 (second)\n',
    );
    expect(existsSync(join(rootfs, 'run/lock/consfig.lock'))).toBe(false);
  }, 120_000);

  it("deployed by root, the tree is this process's: lock, probes, mkdir and writes without a process", async () => {
    const run = mkdtempSync(join(rootfs, 'srv/tree-'));
    const at = run.slice(rootfs.length);
    writeFileSync(join(run, 'file'), 'content\n', { mode: 0o640 });
    symlinkSync('/etc/debian_version', join(run, 'absolute'));
    // the tree's own /run, which the chain mounts over: only the chain's is seen
    writeFileSync(join(rootfs, 'run/decoy'), 'under the mount\n');
    const conn = await openConnection([chroot(rootfs)]);
    const chain = await openConnection([chroot(rootfs)], { inProcess: false });
    try {
      await conn.lock({ holder: 'consfig pid 1 (in process)', waitMs: 500 });
      await expect(chain.lock({ holder: 'consfig pid 2 (chain)', waitMs: 300 })).rejects.toThrow(
        /is being deployed by consfig pid 1 \(in process\)/,
      );
      const queries = ['file', 'absolute', 'missing'].map((f) => ({ path: `${at}/${f}`, content: true }));
      const here = await conn.probe(queries);
      expect(here).toEqual(await chain.probe(queries));
      expect(here.get(`${at}/file`)).toMatchObject({ mode: 0o640, user: 'root', content: Buffer.from('content\n') });
      expect(here.get(`${at}/absolute`)).toMatchObject({ type: 'symlink', target: '/etc/debian_version' });
      expect((await conn.run(['mkdir', '-p', '--', `${at}/new/deeper`])).exitCode).toBe(0);
      await conn.writeFile(`${at}/new/deeper/written`, 'made here\n', { mode: '0600' });
      await conn.writeFile(`${at}/file`, 'replaced\n');
      expect(conn.pid).toBe(0);
      expect(readFileSync(join(run, 'new/deeper/written'), 'utf8')).toBe('made here\n');
      expect(statSync(join(run, 'new/deeper/written')).mode & 0o7777).toBe(0o600);
      expect([readFileSync(join(run, 'file'), 'utf8'), statSync(join(run, 'file')).mode & 0o7777]).toEqual([
        'replaced\n',
        0o640,
      ]);
      // a file the chain mounts over is the chain's to write (which cannot: EBUSY)
      const resolv = readFileSync(join(rootfs, 'etc/resolv.conf'), 'utf8');
      await expect(conn.writeFile('/etc/resolv.conf', 'nameserver 192.0.2.1\n')).rejects.toThrow();
      expect(readFileSync(join(rootfs, 'etc/resolv.conf'), 'utf8')).toBe(resolv);
      expect(conn.pid).not.toBe(0);
      // what the chain mounts over, even through a link (/var/run), is the chain's
      expect((await conn.stat('/run/decoy')).exists).toBe(false);
      await conn.writeFile('/var/run/only-in-chain', 'tmpfs\n');
      expect((await conn.readFile('/run/only-in-chain')).toString()).toBe('tmpfs\n');
      expect(existsSync(join(rootfs, 'run/only-in-chain'))).toBe(false);
      // and so is, once the chain has started, whatever its commands mount
      await conn.run(['sh', '-c', 'mkdir -p /mnt/m && mount -t tmpfs tmpfs /mnt/m && echo in > /mnt/m/f']);
      expect((await conn.readFile('/mnt/m/f')).toString()).toBe('in\n');
      await conn.writeFile('/mnt/m/g', 'also in\n');
      expect(existsSync(join(rootfs, 'mnt/m/g'))).toBe(false);
    } finally {
      await conn.close();
      await chain.close();
      rmSync(run, { recursive: true, force: true });
      rmSync(join(rootfs, 'run/decoy'), { force: true });
      rmSync(join(rootfs, 'mnt/m'), { recursive: true, force: true });
    }
  }, 120_000);

  it('a missing chroot fails the host with the hop named', async () => {
    const error = await openConnection([chroot('/nonexistent/root')]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/chroot:\/nonexistent\/root.*is not a directory/);
  });
});
