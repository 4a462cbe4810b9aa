import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { nsenter, su } from '@consfig/connections';
import { defaultMapsFor, shiftTree } from '../../src/index.js';
import { ensureUsers, TEST_USER, unpackRootfs } from '../../../connections/test/support/machine.js';

const LXCPATH = `/var/lib/consfig-test/lxc-${TEST_USER}`;
const NAME = 'shifted';

function sh(script: string): string {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}
function asUser(command: string): string {
  return execFileSync('su', [TEST_USER, '-s', '/bin/sh', '-c', command], { encoding: 'utf8' });
}

afterAll(() => {
  try {
    asUser(`lxc-stop -P ${LXCPATH} -n ${NAME} -k 2>/dev/null; true`);
  } finally {
    rmSync(`${LXCPATH}/${NAME}`, { recursive: true, force: true });
  }
});

it('a shifted minbase rootfs runs setuid and file-capability binaries in an unprivileged container', async () => {
  ensureUsers();
  const maps = defaultMapsFor(TEST_USER);
  const dir = `${LXCPATH}/${NAME}`;
  mkdirSync(LXCPATH, { recursive: true });
  sh(`chown ${TEST_USER}: ${LXCPATH}; chmod 755 ${LXCPATH}`);
  asUser(`lxc-stop -P ${LXCPATH} -n ${NAME} -k 2>/dev/null; true`);
  const rootfs = unpackRootfs(`${dir}/rootfs`);
  // A capability binary that shows its own effective capabilities, and a setuid id(1).
  copyFileSync(`${rootfs}/usr/bin/cat`, `${rootfs}/usr/local/bin/capcat`);
  sh(`setcap cap_net_raw+ep ${rootfs}/usr/local/bin/capcat`);
  copyFileSync(`${rootfs}/usr/bin/id`, `${rootfs}/usr/local/bin/suid-id`);
  chmodSync(`${rootfs}/usr/local/bin/suid-id`, 0o4755);

  const local = await openConnection([]);
  const report = await shiftTree(local, rootfs, maps).finally(() => local.close());
  expect(report.inodes).toBeGreaterThan(5000);
  const [range] = maps.uid;
  writeFileSync(
    `${dir}/config`,
    [
      'lxc.include = /usr/share/lxc/config/common.conf',
      'lxc.include = /usr/share/lxc/config/userns.conf',
      'lxc.arch = linux64',
      `lxc.idmap = u 0 ${range!.outside} ${range!.count}`,
      `lxc.idmap = g 0 ${maps.gid[0]!.outside} ${maps.gid[0]!.count}`,
      `lxc.rootfs.path = dir:${rootfs}`,
      `lxc.uts.name = ${NAME}`,
      'lxc.init.cmd = /usr/bin/sleep infinity',
      'lxc.apparmor.profile = unconfined',
      'lxc.net.0.type = empty',
      '',
    ].join('\n'),
  );
  sh(`chown ${TEST_USER}: ${dir} ${dir}/config`);
  // su, not runuser: its PAM session (pam_cgfs) delegates the cgroups LXC needs here.
  asUser(`lxc-start -P ${LXCPATH} -n ${NAME} -d`);
  const pid = Number(asUser(`lxc-info -P ${LXCPATH} -n ${NAME} -p -H`).trim());
  expect(pid).toBeGreaterThan(1);

  const conn = await openConnection([su(TEST_USER), nsenter(pid)]);
  try {
    expect(conn.uid).toBe(0);
    const asNobody = (...argv: string[]) =>
      conn.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv]);
    const status = (await asNobody('/usr/local/bin/capcat', '/proc/self/status')).stdout.toString();
    expect(status).toMatch(/^CapEff:\s+0000000000002000$/m); // cap_net_raw, from the v3 file capability
    expect((await asNobody('/usr/local/bin/suid-id', '-u')).stdout.toString()).toBe('0\n');
    const passwd = await asNobody('/usr/bin/passwd', '-S');
    expect(passwd.stdout.toString()).toMatch(/^nobody L /);
    const owner = (await conn.run(['stat', '-c', '%U %a', '/usr/bin/passwd'])).stdout.toString();
    expect(owner).toBe('root 4755\n');
  } finally {
    await conn.close();
    asUser(`lxc-stop -P ${LXCPATH} -n ${NAME} -k`);
  }
}, 300_000);
