import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { lxc } from '@consfig/connections';
import { lxc as lxcProps } from '@consfig/properties';
import { ensureBridge, ensureUsers, TEST_USER } from '../../connections/test/support/machine.js';
import { removeAllContainers } from '../../properties/test/support/lxc.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const SEED_LAB = fileURLToPath(new URL('../../../examples/seed-lab/consfig.ts', import.meta.url));
const LXCPATH = `/var/lib/consfig-test/lxc-seed-${TEST_USER}`;

function consfig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', SEED_LAB_OWNER: TEST_USER, SEED_LAB_LXCPATH: LXCPATH }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  ensureUsers();
  ensureBridge();
});
afterAll(() => {
  removeAllContainers(TEST_USER, LXCPATH);
});

it('lxctest lists lxc1 in its hostattrs, with what lxc1 declares', async () => {
  const r = await consfig(['hosts', '--json', '-c', SEED_LAB]);
  const hosts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { host: string; hostattrs: Record<string, unknown[]> });
  const lxctest = hosts.find((h) => h.host === 'lxctest.example')!;
  expect(lxctest.hostattrs['lxc.containers']).toEqual([{ name: 'lxc1', owner: TEST_USER, host: { host: 'lxc1.example' } }]);
  expect(hosts.find((h) => h.host === 'lxc1.example')!.hostattrs['seed-lab.veth-ip']).toEqual([{ user: TEST_USER, ip: '10.0.3.10' }]);
});

it('deploys the container host on this machine: lxc1 runs, with apache inside, on the bridge', async () => {
  const r = await consfig(['deploy', '-c', SEED_LAB, 'lxctest.example']);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  // the nested hosts are reported as blocks of their own
  expect(r.stdout).toMatch(/✔ lxc1\.example \(chroot:.*\/lxc1\/rootfs\)/);
  expect(r.stdout).toMatch(/✔ lxc1\.example \(lxc:lxc1@consfig-tuser\)/);
  expect(r.stdout).toMatch(/✔ lxctest\.example \(local\)/);
  const conn = await openConnection([lxc({ name: 'lxc1', owner: TEST_USER, lxcpath: LXCPATH })]);
  expect((await conn.run(['dpkg-query', '-W', '-f', '${Status}', 'apache2'])).stdout.toString()).toBe('install ok installed');
  expect((await conn.readFile('/var/www/html/index.html')).toString()).toMatch(/configured by consfig/);
  // minbase has no ip(8): the kernel's table shows the address
  expect((await conn.readFile('/proc/net/fib_trie')).toString()).toContain('10.0.3.10');
  await conn.close();
  // nothing left to do the second time
  const again = await consfig(['deploy', '-c', SEED_LAB, 'lxctest.example']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/lxctest\.example[\s\S]*0 changed/);
  // and check mode agrees, having looked inside the running container too
  const check = await consfig(['check', '--exit-code', '-c', SEED_LAB]);
  expect(check.code, check.stdout).toBe(0);
  expect(check.stdout).not.toMatch(/would fix/);
  expect(lxcProps.containerName({ name: 'lxc1.example' })).toBe('lxc1');
}, 600_000);
