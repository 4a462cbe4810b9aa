/** --ssh-persist: the ssh master outlives a run and serves the next one. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSshd, TEST_USER, unpackRootfs, type TestSshd } from '../../connections/test/support/machine.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/chained-interrupt.ts', import.meta.url));

let sshd: TestSshd;
let rootfs: string;
const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
beforeAll(async () => {
  sshd = await startSshd();
  rootfs = unpackRootfs('/var/lib/consfig-test/chroot-persist');
}, 300_000);
afterAll(async () => {
  const dir = join(runtime, 'consfig-ssh');
  for (const socket of readdirSync(dir))
    execFileSync('ssh', ['-o', `ControlPath=${join(dir, socket)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
  await sshd?.stop();
});

function run(...args: string[]): Promise<{ code: number; out: string }> {
  const env = {
    ...process.env,
    NO_COLOR: '1',
    XDG_RUNTIME_DIR: runtime,
    CONSFIG_TEST_SSH_PORT: String(sshd.port),
    CONSFIG_TEST_SSH_DIR: sshd.dir,
    CONSFIG_TEST_SSH_USER: TEST_USER,
    CONSFIG_TEST_ROOTFS: rootfs,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const masters = () =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(`ssh: ${runtime}/consfig-ssh/`) && l.endsWith('[mux]'));

it('keeps the master for the next run with --ssh-persist, and refuses a bad value', async () => {
  expect(await run('run', '-c', CONFIG, '--ssh-persist', 'later', 'chained.example', '--', 'true')).toMatchObject({
    code: 1,
    out: expect.stringMatching(/--ssh-persist needs a whole number of seconds, not "later"/),
  });
  const first = await run('run', '-c', CONFIG, '--ssh-persist', '30', 'chained.example', '--', 'echo', 'one');
  expect(first).toMatchObject({ code: 0, out: 'one\n' });
  const kept = masters();
  expect(kept).toHaveLength(1);
  const second = await run('run', '-c', CONFIG, '--ssh-persist', '30', 'chained.example', '--', 'echo', 'two');
  expect(second).toMatchObject({ code: 0, out: 'two\n' });
  expect(masters()).toEqual(kept);
}, 120_000);
