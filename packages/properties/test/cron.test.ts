import { readFileSync, statSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, unapply } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, cron, user } from '../src/index.js';
import { withBlock } from '../src/cron.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('cron');
beforeAll(async () => {
  await t.twice(apt.installed('cron'), user.hasAccount('alice'));
}, 300_000);

describe('cron.systemJob', () => {
  it('writes /etc/cron.d/NAME, root-owned 0644, showing it first', async () => {
    const job = cron.systemJob('backup', {
      schedule: '15 3 * * *',
      command: 'tar -C /srv -czf /var/backups/srv.tgz .',
    });
    const text = [
      '# Written by consfig: backup',
      'SHELL=/bin/sh',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '',
      '15 3 * * * root tar -C /srv -czf /var/backups/srv.tgz .',
      '',
    ].join('\n');
    expect(await t.pending(job)).toEqual([[{ path: '/etc/cron.d/backup', before: null, after: text }]]);
    await t.twice(job);
    expect(readFileSync(`${t.root}/etc/cron.d/backup`, 'utf8')).toBe(text);
    expect(statSync(`${t.root}/etc/cron.d/backup`).mode & 0o777).toBe(0o644);
    await t.twice(unapply(job));
  });

  it('refuses a bad schedule or name naming the argument', async () => {
    const results = await Promise.all([
      deploy(defineHost('lib.example', [cron.systemJob('x', { schedule: '* * *', command: 'true' })]), 'local'),
      deploy(defineHost('lib.example', [cron.systemJob('a.b', { schedule: '@daily', command: 'true' })]), 'local'),
    ]);
    expect(results.map((r) => r.failures[0]?.error.message)).toEqual([
      expect.stringMatching(/^invalid argument 'options\.schedule' to cron\.systemJob: must be five fields/),
      "invalid argument 'name' to cron.systemJob: must be letters, digits, _ and - (cron ignores other names)",
    ]);
  });
});

describe('cron.userCrontab', () => {
  it("keeps its entries between markers, leaving the user's own lines, and removes only its block", async () => {
    t.inside('sh', '-c', 'printf "MAILTO=alice\\n0 * * * * echo mine\\n" | crontab -u alice -');
    const entries = cron.userCrontab('alice', ['*/5 * * * * /usr/bin/true', '@reboot echo up']);
    const pending = await t.pending(entries);
    expect(pending[0]![0]!.after).toBe(
      'MAILTO=alice\n0 * * * * echo mine\n' +
        '# BEGIN consfig consfig\n*/5 * * * * /usr/bin/true\n@reboot echo up\n# END consfig consfig\n',
    );
    await t.twice(entries);
    await t.twice(cron.userCrontab('alice', '@daily echo other', { marker: 'other' }));
    await t.twice(cron.userCrontab('alice', '@reboot echo changed'));
    expect(t.inside('crontab', '-u', 'alice', '-l')).toBe(
      'MAILTO=alice\n0 * * * * echo mine\n# BEGIN consfig consfig\n@reboot echo changed\n# END consfig consfig\n' +
        '# BEGIN consfig other\n@daily echo other\n# END consfig other\n',
    );
    await t.twice(unapply(cron.userCrontab('alice', '@reboot echo changed')));
    expect(t.inside('crontab', '-u', 'alice', '-l')).toBe(
      'MAILTO=alice\n0 * * * * echo mine\n# BEGIN consfig other\n@daily echo other\n# END consfig other\n',
    );
    // the spool file is the user's, as crontab(1) leaves it
    expect(t.inside('stat', '-c', '%U %G %a', '/var/spool/cron/crontabs/alice')).toBe('alice crontab 600\n');
  });

  it('sets a block in place, and adds one at the end', () => {
    expect(withBlock(['a', '# BEGIN consfig m', 'old', '# END consfig m', 'b'], 'm', ['new'])).toEqual([
      'a',
      '# BEGIN consfig m',
      'new',
      '# END consfig m',
      'b',
    ]);
    expect(withBlock(['a'], 'm', [])).toEqual(['a']);
  });
});
