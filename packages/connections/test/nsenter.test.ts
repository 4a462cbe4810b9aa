import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { nsenter, runuser } from '../src/index.js';
import { exercise } from './support/exercise.js';
import { TEST_USER } from './support/machine.js';

describe('local → runuser → nsenter', () => {
  it('enters a user+mount namespace made with unshare by a non-root user', async () => {
    const holder = spawn('runuser', ['-u', TEST_USER, '--', 'sh', '-c', 'echo $$; exec unshare -Urm sleep 300'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(
      await new Promise<string>((r) => holder.stdout.once('data', (d: Buffer) => r(d.toString().trim()))),
    );
    await new Promise((r) => setTimeout(r, 300));
    try {
      const conn = await openConnection([runuser(TEST_USER), nsenter(pid)]);
      expect(conn.uid).toBe(0);
      expect((await conn.run(['readlink', '/proc/self/ns/user'])).stdout.toString().trim()).toBe(
        readlinkSync(`/proc/${pid}/ns/user`),
      );
      const dir = (await conn.run(['mktemp', '-d'])).stdout.toString().trim();
      await exercise(conn, dir);
      // root inside is the test user outside
      const owner = execFileSync('stat', ['-c', '%U', join(dir, 'hostile-0')], { encoding: 'utf8' }).trim();
      expect(owner).toBe(TEST_USER);
      await conn.close();
    } finally {
      holder.kill();
    }
  }, 120_000);
});
