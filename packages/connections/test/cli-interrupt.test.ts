import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  mountNamespacesInUse,
  processTable,
  startSshd,
  TEST_USER,
  unpackRootfs,
  type TestSshd,
} from './support/machine.js';

const BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../cli/test/fixtures/chained-interrupt.ts', import.meta.url));

let sshd: TestSshd;
let rootfs: string;
beforeAll(async () => {
  sshd = await startSshd();
  rootfs = unpackRootfs('/var/lib/consfig-test/chroot-interrupt');
}, 300_000);
afterAll(async () => {
  await sshd?.stop();
});

it('Ctrl-C through ssh → sudo → chroot leaves no process and no mount behind', async () => {
  const seconds = `${70 + (Date.now() % 1000) / 1000}`;
  const before = mountNamespacesInUse();
  const child = spawn(process.execPath, [BIN, 'deploy', '-c', CONFIG], {
    env: {
      ...process.env,
      NO_COLOR: '1',
      CONSFIG_TEST_SSH_PORT: String(sshd.port),
      CONSFIG_TEST_SSH_DIR: sshd.dir,
      CONSFIG_TEST_SSH_USER: TEST_USER,
      CONSFIG_TEST_ROOTFS: rootfs,
      CONSFIG_TEST_SLEEP: seconds,
    },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !processTable().includes(`sleep ${seconds}`); i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(processTable()).toContain(`sleep ${seconds}`);
  const during = [...mountNamespacesInUse()].filter((ns) => !before.has(ns));
  expect(during.length).toBeGreaterThan(0); // the chroot's private mount namespace
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(code, out).toBe(130);
  await new Promise((r) => setTimeout(r, 500));
  expect(processTable().filter((l) => l.includes(`sleep ${seconds}`) || l.includes(`-p ${sshd.port}`))).toEqual([]);
  const after = mountNamespacesInUse();
  expect(during.filter((ns) => after.has(ns))).toEqual([]);
}, 120_000);
