import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionError, defineHost, deploy, envSource, openConnection, type DeployEvent } from '@consfig/core';
import { file } from '@consfig/properties';
import { sudo } from '../src/index.js';
import { exercise } from './support/exercise.js';
import { DENIED_USER, PASSWORD, PASSWORD_USER, processTable, TEST_USER, useSshd } from './support/machine.js';

const sshd = useSshd();

describe('ssh → sudo', () => {
  it('becomes root without a password', async () => {
    const conn = await openConnection([sshd.hop(TEST_USER), sudo()]);
    expect(conn.uid).toBe(0);
    await exercise(conn, mkdtempSync(join(tmpdir(), 'consfig-sudo-')));
    await conn.close();
  }, 120_000);

  it('with a password, asked once, never in any process table', async () => {
    let asked = 0;
    const hop = sudo({ password: () => (asked++, PASSWORD) });
    const seen: string[] = [];
    const watcher = setInterval(() => seen.push(...processTable()), 5);
    const conn = await openConnection([sshd.hop(PASSWORD_USER), hop]);
    const again = await openConnection([sshd.hop(PASSWORD_USER), hop]);
    clearInterval(watcher);
    expect([conn.uid, again.uid, asked]).toEqual([0, 0, 1]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((l) => l.includes(PASSWORD))).toEqual([]);
    await conn.close();
    await again.close();
  });

  it('fails with sudo’s own words when sudo is denied or the password is wrong', async () => {
    const denied = await openConnection([sshd.hop(DENIED_USER), sudo()]).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ConnectionError);
    expect((denied as Error).message).toMatch(/ssh:consfig-tdeny@127\.0\.0\.1:\d+ → sudo: .*password is required/s);
    const wrong = await openConnection([sshd.hop(PASSWORD_USER), sudo({ password: 'wrong' })]).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/incorrect password|Sorry, try again/);
  });
});

describe('secrets along the chain', () => {
  it('are delivered 0600 through ssh → sudo, never in ps, events or debug output', async () => {
    const secret = `s3cr3t-${Date.now()}-value`;
    const dir = mkdtempSync(join(tmpdir(), 'consfig-secret-'));
    const path = join(dir, 'db.password');
    const host = defineHost('secret.example', [file.hasSecretContent(path, { iden1: 'db', iden2: 'password' })], {
      via: [sshd.hop(TEST_USER), sudo()],
    });
    const events: DeployEvent[] = [];
    const seen: string[] = [];
    const watcher = setInterval(() => seen.push(...processTable()), 2);
    const result = await deploy(host, undefined, {
      data: [envSource('CONSFIG_DATA_', { CONSFIG_DATA_db_password: secret })],
      onEvent: (e) => events.push(e),
    });
    clearInterval(watcher);
    expect(result.status).toBe('ok');
    expect(readFileSync(path, 'utf8')).toBe(secret);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(seen.filter((l) => l.includes(secret))).toEqual([]);
    expect(JSON.stringify(events)).not.toContain(secret);
    // and missing data fails the host before connecting
    const missing = await deploy(host, undefined, { data: [envSource('NOPE_')] });
    expect(missing.failures[0]!.error.code).toBe('CONSFIG_MISSING_DATA');
    expect(missing.failures[0]!.error.message).toMatch(/missing prerequisite data \(db, password\)/);
  }, 60_000);
});
