import { mkdtempSync, readFileSync, statSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sudo } from '@consfig/connections';
import { file } from '@consfig/properties';
import { defineHost, deploy, deploys, deploysThese, envSource, type DeployEvent } from '../src/index.js';
import { TEST_USER, useSshd } from '../../connections/test/support/machine.js';

const sshd = useSshd();

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'consfig-deploys-'));
  chmodSync(d, 0o777);
  return d;
}

describe('deploys', () => {
  it('deploys another host through ssh then sudo from this one, as a host of its own; then nothing', async () => {
    const d = dir();
    const db = defineHost('db.example', [
      file.hasContent(`${d}/motd`, 'db\n'),
      file.hasSecretContent(`${d}/secret`, { iden1: 'db', iden2: 'pw' }),
    ]);
    const laptop = defineHost('laptop.example', [deploys([sshd.hop(TEST_USER), sudo()], db)]);
    const data = [envSource('D_', { D_db_pw: 's3cret' })];
    const events: DeployEvent[] = [];
    const pending = await deploy(laptop, 'local', { dryRun: true, data, onEvent: (e) => events.push(e) });
    expect([pending.status, existsSync(`${d}/motd`)]).toEqual(['ok', false]);
    const nested = events.find((e) => e.type === 'host:start' && e.host === 'db.example');
    expect(nested?.type === 'host:start' && nested.parent?.host).toBe('laptop.example');
    expect(nested?.type === 'host:start' && nested.chain).toMatch(/^ssh:consfig-tuser@127\.0\.0\.1:\d+ → sudo$/);

    const first = await deploy(laptop, 'local', { data });
    expect(first.failures.map((f) => f.error.message)).toEqual([]);
    expect(first.changed).toBe(1);
    expect([readFileSync(`${d}/motd`, 'utf8'), readFileSync(`${d}/secret`, 'utf8')]).toEqual(['db\n', 's3cret']);
    expect([statSync(`${d}/motd`).uid, statSync(`${d}/secret`).mode & 0o777]).toEqual([0, 0o600]);
    expect((await deploy(laptop, 'local', { data })).changed).toBe(0);
    // its data is asked for before anything connects
    const missing = await deploy(laptop, 'local');
    expect(missing.failures[0]?.error.message).toMatch(/missing prerequisite data \(db, pw\)/);
  });

  it('deploysThese applies just these properties where via leads, as the user it becomes', async () => {
    const d = dir();
    const host = defineHost('laptop.example', [
      deploysThese(`runuser:${TEST_USER}`, file.hasContent(`${d}/mine`, 'x')),
    ]);
    const first = await deploy(host, 'local');
    expect([first.failures.length, first.changed]).toEqual([0, 1]);
    expect(statSync(`${d}/mine`).uid).not.toBe(0);
    expect((await deploy(host, 'local')).changed).toBe(0);
  });

  it('refuses a via it cannot reach and a host that is not one, naming the argument', async () => {
    const results = await Promise.all([
      deploy(defineHost('a.example', [deploys('nosuch:x', defineHost('b.example', []))]), 'local'),
      deploy(defineHost('a.example', [deploys('local', 'b.example' as never)]), 'local'),
    ]);
    expect(results.map((r) => r.failures[0]?.error.message)).toEqual([
      expect.stringMatching(/^invalid argument 'via' to deploys: unknown connection hop "nosuch:x"/),
      "invalid argument 'host' to deploys: must be a host made with defineHost",
    ]);
  });
});
