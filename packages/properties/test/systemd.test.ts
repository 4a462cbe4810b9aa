import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, onChange, openConnection, unapply, type Connection, type Propapp } from '@consfig/core';
import { chroot, lxc as lxcHop } from '@consfig/connections';
import { apt, file, lxc, os, systemd, user } from '../src/index.js';
import { asOwner, removeAllContainers } from './support/lxc.js';
import { ensureUsers, TEST_USER } from '../../connections/test/support/machine.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('systemd');
const { twice, inside } = t;

describe('systemd', () => {
  it('lingering and unit enablement, offline', async () => {
    await twice(user.hasAccount('alice'), systemd.lingeringEnabled('alice'));
    expect(inside('ls', '/var/lib/systemd/linger')).toBe('alice\n');
    await twice(apt.installed('systemd'), systemd.enabled('systemd-networkd.service'));
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
    await twice(systemd.enabled('systemd-tmpfiles-clean.timer', { userInstance: 'alice' }));
    expect(
      inside('runuser', '-u', 'alice', '--', 'systemctl', '--user', 'is-enabled', 'systemd-tmpfiles-clean.timer'),
    ).toBe('enabled\n');
    await twice(systemd.masked('systemd-networkd.service'));
    expect(inside('sh', '-c', 'systemctl is-enabled systemd-networkd.service || true')).toBe('masked\n');
    const unmasked = await deploy(
      defineHost('lib.example', [debian, unapply(systemd.masked('systemd-networkd.service'))]),
      [chroot(t.root)],
    );
    expect([unmasked.failures.length, unmasked.changed]).toEqual([0, 1]);
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
  }, 300_000);
});

describe('units where systemd runs: an unprivileged container booting it', () => {
  const LXCPATH = `/var/lib/consfig-test/lxc-systemd-${TEST_USER}`;
  const UNIT = '/etc/systemd/system/consfig-test.service';
  const unitText = (greeting: string) =>
    [
      '[Service]',
      `Environment=GREETING=${greeting}`,
      'ExecStart=/bin/sleep infinity',
      "ExecReload=/bin/sh -c 'echo reload >> /run/consfig-test.log'",
      '',
      '[Install]',
      'WantedBy=multi-user.target',
    ].join('\n');
  const sd2 = () => lxcHop({ name: 'sd2', owner: TEST_USER, lxcpath: LXCPATH });
  const inside = defineHost('sd2.lxc.example', [
    os.debianStable('bookworm', 'amd64'),
    apt.installed('systemd-sysv', 'dbus'),
  ]);
  /** The unit file, and systemd told of it and the service restarted when it changed. */
  const unit = (greeting: string) =>
    onChange(
      file.hasContent(UNIT, unitText(greeting)),
      systemd.daemonReloaded(),
      systemd.restarted('consfig-test.service'),
    );
  const run = (...props: Propapp[]) => deploy(defineHost('sd2.lxc.example', props), [sd2()]);
  /** The container stopped and started again, from its host, by one deployment. */
  const restart = () =>
    deploy(
      defineHost('lxchost.example', [
        lxc.userContainerStopped(inside, TEST_USER, LXCPATH),
        lxc.userContainerStarted(inside, TEST_USER, LXCPATH),
      ]),
      'local',
    );
  const show = async (conn: Connection, what: string) =>
    (await conn.run(['systemctl', 'show', '-P', what, 'consfig-test.service'])).stdout.toString().trim();

  const failureText = (f: { error: Error }) =>
    [f.error.message, (f.error as { stderr?: string }).stderr ?? ''].join(' ').trim();

  beforeAll(async () => {
    ensureUsers();
    removeAllContainers(TEST_USER, LXCPATH);
    const built = await deploy(
      defineHost('lxchost.example', [
        lxc.userContainerFor(
          { owner: TEST_USER, lxcpath: LXCPATH, start: true, additionalLines: ['lxc.net.0.type = empty'] },
          inside,
        ),
      ]),
      'local',
    );
    expect(built.failures.map((f) => f.error.message)).toEqual([]);
  }, 600_000);
  afterAll(() => removeAllContainers(TEST_USER, LXCPATH));

  it('starts, reloads, restarts on a changed unit file, stops, and disables; each then unchanged', async () => {
    // Started again, and deployed into at once, as a deployment that starts it does.
    const restarted = await restart();
    expect([restarted.failures.map(failureText), restarted.changed]).toEqual([[], 2]);
    const first = await run(unit('hello'), systemd.started('consfig-test.service'));
    expect(first.failures.map(failureText)).toEqual([]);
    const conn = await openConnection([sd2()]);
    try {
      expect(await show(conn, 'ActiveState')).toBe('active');
      const pid = await show(conn, 'MainPID');
      expect((await run(unit('hello'), systemd.started('consfig-test.service'))).changed).toBe(0);

      // a reload where it runs; a changed unit file: daemon-reload, then a new process
      expect((await run(systemd.reloaded('consfig-test.service'))).changed).toBe(1);
      expect((await conn.readFile('/run/consfig-test.log')).toString()).toBe('reload\n');
      expect((await run(unit('again'))).changed).toBe(3); // the file, daemon-reload, restart
      expect(await show(conn, 'Environment')).toBe('GREETING=again');
      expect(await show(conn, 'MainPID')).not.toBe(pid);
      expect(await show(conn, 'NeedDaemonReload')).toBe('no');

      const stop = await run(systemd.stopped('consfig-test.service'));
      expect([stop.changed, await show(conn, 'ActiveState')]).toEqual([1, 'inactive']);
      expect(
        (await run(systemd.stopped('consfig-test.service'), systemd.reloaded('consfig-test.service'))).changed,
      ).toBe(0);
      expect((await run(systemd.enabled('consfig-test.service'))).changed).toBe(1);
      expect((await run(systemd.disabled('consfig-test.service'))).changed).toBe(1);
      expect((await run(systemd.disabled('consfig-test.service'))).changed).toBe(0);
      expect((await conn.run(['systemctl', 'is-enabled', 'consfig-test.service'])).stdout.toString()).toBe(
        'disabled\n',
      );
    } finally {
      await conn.close();
    }
  }, 120_000);

  it('starts at once a tree with systemd whose config runs another init', async () => {
    const config = `${LXCPATH}/sd2/config`;
    const saved = readFileSync(config, 'utf8');
    writeFileSync(config, `${saved}\nlxc.init.cmd = /bin/sleep infinity\n`);
    try {
      const r = await restart();
      // (waiting for a systemd that never comes would fail it after 60 s)
      expect([r.failures.map(failureText), r.changed]).toEqual([[], 2]);
      expect(asOwner(TEST_USER, `lxc-attach -P ${LXCPATH} -n sd2 -- cat /proc/1/comm`)).toBe('sleep\n');
    } finally {
      writeFileSync(config, saved);
    }
  }, 60_000);

  it('does nothing where systemd does not run (a chroot), and says so by no change', async () => {
    const r = await deploy(
      defineHost('lib.example', [debian, systemd.started('ssh.service'), systemd.daemonReloaded()]),
      [chroot(t.root)],
    );
    expect([r.status, r.changed]).toEqual(['ok', 0]);
  });
});
