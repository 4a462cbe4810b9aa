/**
 * The systemd side of lxc.userContainersAutostart, for real: an unprivileged container
 * that boots systemd, built with the property applied offline in its rootfs, then
 * booted, so that lingering starts the user's systemd instance, which runs the unit.
 * (The cron side is tested with the other LXC properties, on this machine without systemd.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, openConnection, unapply, type Connection } from '@consfig/core';
import { lxc as lxcHop } from '@consfig/connections';
import { apt, file, lxc, os, systemd, user } from '../src/index.js';
import { asOwner, removeAllContainers, sh } from './support/lxc.js';
import { bootSettled } from './support/systemd-boot.js';
import { ensureUsers, TEST_USER } from '../../connections/test/support/machine.js';

const LXCPATH = `/var/lib/consfig-test/lxc-autostart-${TEST_USER}`;
const INNER_PATH = '/home/alice/lxc';
const UNIT_DIR = '/home/alice/.config/systemd/user';

const bootsSystemd = defineHost('sd1.lxc.example', [
  os.debianStable('bookworm', 'amd64'),
  apt.installed('systemd-sysv', 'dbus', 'libpam-systemd', 'lxc', 'uidmap'),
  // root's own autostart would wait 30 s for a bridge this container has not got
  systemd.masked('lxc.service'),
  systemd.masked('lxc-net.service'),
  user.hasAccount('alice'),
  file.directoryExists(INNER_PATH, { owner: 'alice' }),
  lxc.userContainersAutostart('alice', { lxcpath: INNER_PATH }),
]);
const sd1 = () => lxcHop({ name: 'sd1', owner: TEST_USER, lxcpath: LXCPATH });

async function text(conn: Connection, argv: string[]): Promise<string> {
  return (await conn.run(argv)).stdout.toString('utf8');
}

/** The unit's state in the user's systemd instance, once the boot has settled. */
async function unitState(conn: Connection, who = 'alice'): Promise<Record<string, string>> {
  expect(await bootSettled(conn)).toMatch(/^(running|degraded)$/);
  const uid = (await text(conn, ['id', '-u', who])).trim();
  const show = ['runuser', '-u', who, '--', 'env', `XDG_RUNTIME_DIR=/run/user/${uid}`, 'systemctl', '--user', 'show'];
  const props = '--property=ActiveState,Result,ExecMainStatus,ExecMainStartTimestampMonotonic';
  for (let i = 0; ; i++) {
    const out = await conn.run([...show, props, 'consfig-lxc-autostart.service']);
    const state = Object.fromEntries(
      out.stdout
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string]),
    );
    // the user's instance starts at boot, a little after the system is up
    if ((out.exitCode === 0 && state.ActiveState !== 'inactive' && state.ActiveState !== 'activating') || i === 100)
      return state;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Killed, not halted: under this host's cgroup v1 layout a contained systemd never hears
 * that a stopped user@.service's cgroup is empty, so a clean halt waits out its timeout.
 */
async function reboot(): Promise<void> {
  asOwner(
    TEST_USER,
    `lxc-stop -P ${LXCPATH} -n sd1 -k && lxc-start -P ${LXCPATH} -n sd1 &&
     lxc-wait -P ${LXCPATH} -n sd1 -s RUNNING -t 30`,
  );
}

beforeAll(() => {
  ensureUsers();
  removeAllContainers(TEST_USER, LXCPATH);
});
afterAll(() => removeAllContainers(TEST_USER, LXCPATH));

describe('lxc.userContainersAutostart under systemd', () => {
  it('puts a user unit and lingering in place offline, and the unit runs at every boot', async () => {
    const built = await deploy(
      defineHost('lxchost.example', [
        lxc.userContainerFor(
          { owner: TEST_USER, lxcpath: LXCPATH, start: true, additionalLines: ['lxc.net.0.type = empty'] },
          bootsSystemd,
        ),
      ]),
      'local',
    );
    expect(built.failures.map((f) => f.error.message)).toEqual([]);
    // systemd halts on SIGRTMIN+3: the config says so of itself
    expect(sh(`cat ${LXCPATH}/sd1/config`)).toContain('\nlxc.signal.halt = SIGRTMIN+3\n');
    // Applied in the chroot, where /sbin/init said systemd: no cron line, the unit instead.
    const rootfs = `${LXCPATH}/sd1/rootfs`;
    expect(sh(`test -e ${rootfs}/etc/cron.d/consfig-lxc-autostart-alice && echo cron || echo none`).trim()).toBe(
      'none',
    );
    expect(sh(`readlink ${rootfs}${UNIT_DIR}/default.target.wants/consfig-lxc-autostart.service`).trim()).toBe(
      '../consfig-lxc-autostart.service',
    );

    const conn = await openConnection([sd1()]);
    try {
      expect((await text(conn, ['cat', '/proc/1/comm'])).trim()).toBe('systemd');
      const unit = await text(conn, ['cat', `${UNIT_DIR}/consfig-lxc-autostart.service`]);
      expect(unit).toContain(`ExecStart=/usr/local/libexec/consfig/lxc-autostart ${INNER_PATH}\n`);
      expect(
        (await text(conn, ['stat', '-c', '%U', UNIT_DIR, `${UNIT_DIR}/consfig-lxc-autostart.service`])).split('\n'),
      ).toEqual(['alice', 'alice', '']);
      // Booted once already: alice never logged in, yet her instance ran the unit.
      const first = await unitState(conn);
      expect(first).toMatchObject({ ActiveState: 'active', Result: 'success', ExecMainStatus: '0' });
      expect((await text(conn, ['loginctl', 'show-user', 'alice', '-p', 'Linger'])).trim()).toBe('Linger=yes');
      // masked offline, and systemd agrees
      expect((await conn.run(['systemctl', 'is-enabled', 'lxc.service', 'lxc-net.service'])).stdout.toString()).toBe(
        'masked\nmasked\n',
      );

      // With systemd running, deploying from inside changes nothing.
      const again = await deploy(bootsSystemd, [sd1()]);
      expect([again.status, again.changed]).toEqual(['ok', 0]);
      // Applied where systemd runs, lingering goes through logind, which starts bob's
      // instance at once, and that runs the unit.
      const bob = await deploy(
        defineHost('sd1.lxc.example', [user.hasAccount('bob'), lxc.userContainersAutostart('bob')]),
        [sd1()],
      );
      expect(bob.failures.map((f) => f.error.message)).toEqual([]);
      expect(await unitState(conn, 'bob')).toMatchObject({
        ActiveState: 'active',
        Result: 'success',
        ExecMainStatus: '0',
      });
      expect((await text(conn, ['loginctl', 'show-user', 'bob', '-p', 'Linger'])).trim()).toBe('Linger=yes');

      // A container of alice's that does not autostart: lxc-autostart itself runs now.
      await conn.run([
        'sh',
        '-c',
        `mkdir -p ${INNER_PATH}/idle &&
         printf 'lxc.uts.name = idle\\nlxc.start.auto = 0\\n' > ${INNER_PATH}/idle/config &&
         chown -R alice: ${INNER_PATH}/idle`,
      ]);
    } finally {
      await conn.close();
    }
    await reboot();
    const after = await openConnection([sd1()]);
    try {
      expect((await text(after, ['runuser', '-u', 'alice', '--', 'lxc-ls', '-P', INNER_PATH])).trim()).toBe('idle');
      const second = await unitState(after);
      expect(second).toMatchObject({ ActiveState: 'active', Result: 'success', ExecMainStatus: '0' });
    } finally {
      await after.close();
    }

    // Unapplied, the unit and its link go; nothing else of alice's.
    const down = await deploy(
      defineHost('sd1.lxc.example', [
        os.debianStable('bookworm', 'amd64'),
        unapply(lxc.userContainersAutostart('alice', { lxcpath: INNER_PATH })),
      ]),
      [sd1()],
    );
    expect(down.failures.map((f) => f.error.message)).toEqual([]);
    expect(sh(`find ${rootfs}${UNIT_DIR} -name 'consfig-*'`)).toBe('');
    expect(sh(`cat ${rootfs}/var/lib/systemd/linger/alice && echo lingers`)).toBe('lingers\n');
  }, 900_000);
});
