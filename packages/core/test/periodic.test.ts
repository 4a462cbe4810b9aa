import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import '@consfig/connections';
import { asUser, atMost, defineHost, deploy, InvalidHostError, reappliedAtMost, unapply } from '../src/index.js';
import { recorder, type Log } from './support/recorder.js';
import { TEST_USER } from '../../connections/test/support/machine.js';

const tag = `consfig-test-${process.pid}`;
const rootRecord = (desc: string) => `/var/lib/consfig/at-most/${encodeURIComponent(desc)}`;
const made: string[] = [];

afterAll(() => {
  for (const path of made) rmSync(path, { force: true });
});

function setup() {
  const log: Log = { entries: [] };
  return { log, step: recorder(log) };
}

const local = (...props: unknown[]) => defineHost('periodic.example', props, { via: 'local' });

describe('atMost', () => {
  it('applies once a period, then counts as applied without checking, and again once it has passed', async () => {
    const { log, step } = setup();
    const desc = `${tag} nightly/cleanup`;
    made.push(rootRecord(desc));
    const host = local(atMost('daily', desc, step('1'), step('2')));
    const first = await deploy(host);
    expect(first).toMatchObject({ status: 'ok', changed: 2 });
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 2', 'apply 2']);
    // The record names the description (a file name) and holds when it was applied.
    const [time, boot] = readFileSync(rootRecord(desc), 'utf8').trim().split(' ');
    expect(Math.abs(Number(time) - Date.now() / 1000)).toBeLessThan(60);
    expect(boot).toBe('-');
    const again = await deploy(host);
    // Its two properties count as they were, unchecked.
    expect(again).toMatchObject({ status: 'ok', changed: 0, unchanged: 2 });
    expect(log.entries).toHaveLength(4);
    // A day and a second later: due again.
    writeFileSync(rootRecord(desc), `${Math.floor(Date.now() / 1000) - 86_401} -\n`);
    const later = await deploy(host);
    expect(later.changed).toBe(2);
    expect(log.entries.slice(4)).toEqual(['check 1', 'apply 1', 'check 2', 'apply 2']);
  });

  it('check mode says it would apply them, and records nothing', async () => {
    const { log, step } = setup();
    const desc = `${tag} checked`;
    made.push(rootRecord(desc));
    const checked = await deploy(local(atMost(3600, desc, step('1'))), undefined, { dryRun: true });
    expect(checked.changed).toBe(1);
    expect(log.entries).toEqual(['check 1']);
    expect(existsSync(rootRecord(desc))).toBe(false);
  });

  it('records nothing when what it applies fails, so the next deploy tries again', async () => {
    const { log, step } = setup();
    const desc = `${tag} failing`;
    made.push(rootRecord(desc));
    const failed = await deploy(local(atMost('hourly', desc, step('1', { fail: true }))));
    expect(failed.failed).toBe(1);
    expect(existsSync(rootRecord(desc))).toBe(false);
    await deploy(local(atMost('hourly', desc, step('1', { fail: true }))));
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 1', 'apply 1']);
  });

  it("eachReboot keeps this boot's id: applied once a boot", async () => {
    const { log, step } = setup();
    const desc = `${tag} boot`;
    made.push(rootRecord(desc));
    const host = local(atMost('eachReboot', desc, step('1')));
    await deploy(host);
    await deploy(host);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    expect(readFileSync(rootRecord(desc), 'utf8')).toMatch(new RegExp(` ${boot}\n$`));
    expect(log.entries).toEqual(['check 1', 'apply 1']);
    // A record of another boot: due.
    writeFileSync(rootRecord(desc), `${Math.floor(Date.now() / 1000)} 00000000-0000-0000-0000-000000000000\n`);
    await deploy(host);
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 1', 'apply 1']);
  });

  it("keeps a user's records in their home; unapplying removes the record", async () => {
    const { log, step } = setup();
    const desc = `${tag} as a user`;
    const home = execFileSync('sh', ['-c', `getent passwd ${TEST_USER} | cut -d: -f6`], { encoding: 'utf8' }).trim();
    const record = `${home}/.cache/consfig/at-most/${encodeURIComponent(desc)}`;
    made.push(record);
    await deploy(local(asUser(TEST_USER, atMost('weekly', desc, step('1')))));
    expect(existsSync(record)).toBe(true);
    expect(execFileSync('stat', ['-c', '%U', record], { encoding: 'utf8' })).toBe(`${TEST_USER}\n`);
    await deploy(local(unapply(asUser(TEST_USER, atMost('weekly', desc, step('1', { applied: true }))))));
    expect(existsSync(record)).toBe(false);
    expect(log.entries).toEqual(['check 1', 'apply 1', 'check 1', 'unapply 1']);
  });

  it('refuses a period it does not know and an empty description, naming them', () => {
    const { step } = setup();
    expect(() => atMost('fortnightly' as never, 'x', step('1'))).toThrow(InvalidHostError);
    expect(() => atMost('fortnightly' as never, 'x', step('1'))).toThrow(
      /atMost\("fortnightly", "x"\): the period must be eachReboot, hourly, daily, weekly, monthly, yearly or a number/,
    );
    expect(() => atMost(-5, 'x', step('1'))).toThrow(/the period must be/);
    expect(() => reappliedAtMost('daily', ' ', step('1'))).toThrow(
      /reappliedAtMost: the description must not be empty/,
    );
  });
});

describe('reappliedAtMost', () => {
  it('applies on every deploy, and once a period unapplies first', async () => {
    const { log, step } = setup();
    const desc = `${tag} rebuilt`;
    made.push(rootRecord(desc));
    const host = local(reappliedAtMost('monthly', desc, step('1', { applied: true })));
    const first = await deploy(host);
    expect(first.changed).toBe(1);
    expect(log.entries).toEqual(['check 1', 'unapply 1', 'check 1']);
    const again = await deploy(host);
    expect(again.changed).toBe(0);
    expect(log.entries.slice(3)).toEqual(['check 1']);
    writeFileSync(rootRecord(desc), `${Math.floor(Date.now() / 1000) - 31 * 86_400} -\n`);
    await deploy(host);
    expect(log.entries.slice(4)).toEqual(['check 1', 'unapply 1', 'check 1']);
  });
});
