/**
 * Real components for the connection tests, made by the tests themselves (as root):
 * test users, an sshd on 127.0.0.1 with its own host key and key-only login, and a
 * Debian rootfs built once by mmdebstrap and cached as a tarball.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ssh, type SshOptions } from '../../src/index.js';
// @ts-expect-error: plain JavaScript shared with the benchmarks
import { startSshd as startBareSshd } from '../../../../scripts/lib/sshd.mjs';

export const TEST_USER = 'consfig-tuser';
export const PASSWORD_USER = 'consfig-tpass';
export const PASSWORD = 'correct horse battery staple';
export const DENIED_USER = 'consfig-tdeny';

export function sh(script: string, input?: string): string {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
}

/** Test users: one with passwordless sudo, one whose sudo wants its password, one without sudo. */
export function ensureUsers(): void {
  for (const user of [TEST_USER, PASSWORD_USER, DENIED_USER]) {
    // Test files run in parallel: another may be creating the same user right now.
    sh(`id ${user} >/dev/null 2>&1 || useradd -m -s /bin/sh ${user} 2>/dev/null || id ${user} >/dev/null`);
  }
  sh(`chpasswd`, `${PASSWORD_USER}:${PASSWORD}\n`);
  // setuid/subuid expectations in the tests read the ranges; make sure each user has one.
  for (const user of [TEST_USER, PASSWORD_USER, DENIED_USER]) {
    if (
      !readFileSync('/etc/subuid', 'utf8')
        .split('\n')
        .some((l) => l.startsWith(`${user}:`))
    ) {
      sh(`usermod --add-subuids ${subidStart(user)} --add-subgids ${subidStart(user)} ${user}`);
    }
  }
  const rules = [
    `${TEST_USER} ALL=(ALL:ALL) NOPASSWD: ALL`,
    `${PASSWORD_USER} ALL=(ALL:ALL) ALL`,
    `Defaults:${PASSWORD_USER} !lecture\n`,
  ].join('\n');
  writeFileSync('/etc/sudoers.d/consfig-test', rules, { mode: 0o440 });
}

export interface TestSshd {
  port: number;
  dir: string;
  /** Options for ssh(): this sshd, its known_hosts, the test key, no user config. */
  target(user: string, extra?: Partial<SshOptions>): SshOptions;
  hop(user: string, extra?: Partial<SshOptions>): ReturnType<typeof ssh>;
  stop(): Promise<void>;
}

/** The sshd, with the test users allowed in. */
export async function startSshd(): Promise<TestSshd> {
  ensureUsers();
  const bare = (await startBareSshd(['root', TEST_USER, PASSWORD_USER, DENIED_USER])) as Omit<TestSshd, 'hop'>;
  return { ...bare, hop: (user, extra) => ssh(bare.target(user, extra)) };
}

/**
 * A real sshd for the calling test file: started before its tests, stopped after them.
 * The object stands for the sshd once started (it throws if used before).
 */
export function useSshd(): TestSshd {
  let started: TestSshd | undefined;
  beforeAll(async () => {
    started = await startSshd();
  }, 300_000);
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as TestSshd, {
    get(_target, key) {
      if (!started) throw new Error('the test sshd is used before its beforeAll ran');
      const value = (started as unknown as Record<PropertyKey, unknown>)[key];
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}

export const ROOTFS_TARBALL = '/var/cache/consfig-test/rootfs/bookworm-minbase-amd64.tar.zst';

/** The cached minbase tarball, built by mmdebstrap under a lock when missing. */
export function ensureRootfsTarball(): string {
  if (existsSync(ROOTFS_TARBALL)) return ROOTFS_TARBALL;
  mkdirSync('/var/cache/consfig-test/rootfs', { recursive: true });
  sh(
    `exec 9>/var/cache/consfig-test/rootfs/.lock; flock 9
     [ -e ${ROOTFS_TARBALL} ] || {
       mmdebstrap --variant=minbase --quiet bookworm ${ROOTFS_TARBALL}.tmp.tar.zst \\
         /etc/apt/sources.list.d/debian.sources &&
       mv ${ROOTFS_TARBALL}.tmp.tar.zst ${ROOTFS_TARBALL}
     }`,
  );
  return ROOTFS_TARBALL;
}

/** A fresh rootfs at `dir`, unpacked from the cached tarball. */
export function unpackRootfs(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '--zstd', '-xpf', ensureRootfsTarball(), '--numeric-owner']);
  return dir;
}

/** Mount points at or below `dir` (there must be none once a chroot connection ended). */
export function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`));
}

/** Command lines of every process, to look for leaks of secrets or leftovers. */
export function processTable(): string[] {
  return sh('ps -eo args').split('\n');
}

/** The bridge unprivileged containers' veths join (made once; several test files may race). */
export function ensureBridge(name = 'lxcbr0', address = '10.0.3.1/24'): void {
  sh(`ip link show ${name} >/dev/null 2>&1 || ip link add ${name} type bridge 2>/dev/null ||
        ip link show ${name} >/dev/null
      ip addr show dev ${name} | grep -q '${address}' || ip addr add ${address} dev ${name} 2>/dev/null || true
      ip link set ${name} up`);
}

/** Every mount namespace some process is in (a chroot connection's must go with it). */
export function mountNamespacesInUse(): Set<string> {
  const found = new Set<string>();
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      found.add(readlinkSync(`/proc/${p}/ns/mnt`));
    } catch {
      // the process is gone
    }
  }
  return found;
}

/** A subordinate range for a test user that lacks one (never the case with useradd's defaults). */
function subidStart(user: string): string {
  const base = 1_000_000 + [TEST_USER, PASSWORD_USER, DENIED_USER].indexOf(user) * 65_536;
  return `${base}-${base + 65_535}`;
}

/**
 * A root filesystem of busybox alone (Debian's busybox-static): a target without GNU
 * tools, whose find has no -printf and which has no flock(1) or perl.
 */
export function busyboxTree(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(dir, 'bin/busybox')]);
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  chmodSync(join(dir, 'tmp'), 0o1777);
  return dir;
}
