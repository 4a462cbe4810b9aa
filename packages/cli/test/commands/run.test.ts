/**
 * `consfig run` passes a command's output through as the bytes it is, as it comes, in
 * bounded memory, and Ctrl-C stops the command on the target as well.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processTable, startSshd, type TestSshd } from '../../../connections/test/support/machine.js';
import { BIN, rssOf, startConsfig, until } from '../support/cli.js';

const SAFETY = fileURLToPath(new URL('../fixtures/safety.ts', import.meta.url));

let sshd: TestSshd;
let env: Record<string, string>;
beforeAll(async () => {
  sshd = await startSshd();
  env = { CONSFIG_TEST_SSH_PORT: String(sshd.port), CONSFIG_TEST_SSH_DIR: sshd.dir };
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
});

/** Run consfig, counting its stdout and keeping the first bytes, and sampling its memory. */
function runCounting(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let bytes = 0;
  let head = Buffer.alloc(0);
  let peak = 0;
  child.stdout.on('data', (d: Buffer) => {
    if (head.length < 16) head = Buffer.concat([head, d]).subarray(0, 16);
    bytes += d.length;
  });
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid!))), 20);
  return new Promise<{ code: number | null; bytes: number; head: Buffer; peak: number }>((resolve) =>
    child.on('close', (code) => {
      clearInterval(sampler);
      resolve({ code, bytes, head, peak });
    }),
  );
}

describe('consfig run', () => {
  it('streams 600 MB of output through, bytes unchanged, without holding it in memory', async () => {
    const r = await runCounting([
      'run',
      '-c',
      SAFETY,
      'ssh.example',
      '--',
      'sh',
      '-c',
      'printf "\\377\\376\\000"; head -c 600000000 /dev/zero',
    ]);
    expect(r.code).toBe(0);
    expect(r.bytes).toBe(600_000_003);
    expect([...r.head.subarray(0, 4)]).toEqual([0xff, 0xfe, 0x00, 0x00]);
    expect(r.peak).toBeGreaterThan(0);
    expect(r.peak).toBeLessThan(250 << 20);
  }, 180_000);

  it('stops the command on the target too at Ctrl-C, locally and over ssh', async () => {
    for (const host of ['lines.example', 'ssh.example']) {
      const seconds = `${60 + (Date.now() % 1000) / 1000}`;
      const run = startConsfig(['run', '-c', SAFETY, host, '--', 'sleep', seconds], env);
      expect(await until(() => processTable().includes(`sleep ${seconds}`))).toBe(true);
      run.child.kill('SIGINT');
      expect(await run.done).toBe(130);
      expect(await until(() => !processTable().includes(`sleep ${seconds}`), 5000)).toBe(true);
    }
  }, 60_000);
});
