import { execFileSync } from 'node:child_process';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  chownSync,
} from 'node:fs';
import { join } from 'node:path';
import { runuser, sudo } from '@consfig/connections';
import { ensureUsers, TEST_USER } from '../../../connections/test/support/machine.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openConnection, type Connection } from '@consfig/core';
import { IdShiftError, MARKER, markerText, shiftState, shiftTree, unshiftTree, type IdMaps } from '../../src/index.js';

const MAPS: IdMaps = {
  uid: [{ inside: 0, outside: 100000, count: 65536 }],
  gid: [{ inside: 0, outside: 100000, count: 65536 }],
};

let root: string;
let conn: Connection;
beforeAll(async () => {
  conn = await openConnection([]);
});
afterAll(async () => {
  await conn.close();
});

function sh(script: string): string {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

/**
 * The fixture: setuid, setgid dir, file capability, ACLs, default ACL, hard links, a
 * symlink to /, a FIFO, a device.
 */
function makeFixture(dir: string): void {
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/suid'), '#!/bin/sh\n');
  chmodSync(join(dir, 'bin/suid'), 0o4755);
  writeFileSync(join(dir, 'bin/sgid'), '#!/bin/sh\n');
  chownSync(join(dir, 'bin/sgid'), 0, 42);
  chmodSync(join(dir, 'bin/sgid'), 0o2755);
  writeFileSync(join(dir, 'bin/ping'), 'not really ping');
  sh(`setcap cap_net_raw+ep ${join(dir, 'bin/ping')}`);
  mkdirSync(join(dir, 'shared'));
  chownSync(join(dir, 'shared'), 0, 50);
  chmodSync(join(dir, 'shared'), 0o2775);
  writeFileSync(join(dir, 'shared/acl'), 'x');
  sh(`setfacl -m u:1000:rw,g:100:r ${join(dir, 'shared/acl')}`);
  sh(`setfacl -d -m u:1001:rwx,g:101:rx ${join(dir, 'shared')}`);
  writeFileSync(join(dir, 'home-file'), 'y');
  chownSync(join(dir, 'home-file'), 1000, 1000);
  linkSync(join(dir, 'home-file'), join(dir, 'hardlink'));
  symlinkSync('/', join(dir, 'root-link'));
  sh(`mkfifo ${join(dir, 'fifo')} && mknod ${join(dir, 'null')} c 1 3`);
}

/** Everything that must survive a shift out and back: owner, mode, type, ACLs, capabilities. */
function listing(dir: string): string {
  return [
    sh(`cd ${dir} && find . -printf '%p %U:%G %m %y %n\\n' | sort`),
    sh(`cd ${dir} && getfacl -RPn --absolute-names . 2>/dev/null`),
    sh(`cd ${dir} && getcap -n -r . 2>/dev/null | sort`),
  ].join('\n---\n');
}

beforeEach(() => {
  mkdirSync('/var/lib/consfig-test', { recursive: true });
  root = mkdtempSync('/var/lib/consfig-test/idshift-');
  makeFixture(root);
});
afterEach(() => {
  sh(`umount ${root}/mnt 2>/dev/null || true`);
  rmSync(root, { recursive: true, force: true });
});

describe('shiftTree', () => {
  it('shifts owners, keeps setuid/setgid, shifts ACLs and rewrites caps as v3', async () => {
    const report = await shiftTree(conn, root, MAPS);
    expect(report.state).toBe('done');
    expect(report.inodes).toBe(11); // the hard link is one inode
    const st = (p: string) => lstatSync(join(root, p));
    expect([st('bin/suid').uid, st('bin/suid').mode & 0o7777]).toEqual([100000, 0o4755]);
    expect([st('bin/sgid').gid, st('bin/sgid').mode & 0o7777]).toEqual([100042, 0o2755]);
    expect([st('shared').gid, st('shared').mode & 0o7777]).toEqual([100050, 0o2775]);
    expect([st('home-file').uid, st('hardlink').uid]).toEqual([101000, 101000]);
    expect([st('root-link').uid, st('fifo').uid, st('null').uid]).toEqual([100000, 100000, 100000]);
    expect(lstatSync('/').uid).toBe(0);
    expect(sh(`getfacl -n ${join(root, 'shared/acl')}`)).toMatch(/user:101000:rw-[\s\S]*group:100100:r--/);
    expect(sh(`getfacl -n ${join(root, 'shared')}`)).toMatch(/default:user:101001:rwx[\s\S]*default:group:100101:r-x/);
    expect(sh(`getcap -n ${join(root, 'bin/ping')}`)).toMatch(/cap_net_raw=ep \[rootid=100000\]/);
    expect(await shiftState(conn, root)).toEqual({ state: 'shifted', maps: MAPS });
  });

  it('does nothing the second time, and gives back the identical tree when shifted out', async () => {
    const before = listing(root);
    await shiftTree(conn, root, MAPS);
    const shifted = listing(root);
    expect(shifted).not.toBe(before);
    expect((await shiftTree(conn, root, MAPS)).state).toBe('already');
    expect(listing(root)).toBe(shifted);
    await unshiftTree(conn, root, MAPS);
    expect(listing(root)).toBe(before);
    expect((await shiftState(conn, root)).state).toBe('none');
  });

  it('resumes an interrupted shift without shifting anything twice', async () => {
    await shiftTree(conn, root, MAPS);
    // As if interrupted before these two inodes: still at host ids, marker says shifting.
    sh(
      `chown -h 0:0 ${join(root, 'bin/suid')} && chmod 4755 ${join(root, 'bin/suid')} &&
       chown 1000:1000 ${join(root, 'home-file')}`,
    );
    execFileSync('setfattr', ['-n', MARKER, '-v', markerText('shifting', MAPS), root]);
    expect((await shiftTree(conn, root, MAPS)).state).toBe('resumed');
    expect(lstatSync(join(root, 'bin/suid')).uid).toBe(100000);
    expect(lstatSync(join(root, 'home-file')).uid).toBe(101000);
    expect(lstatSync(join(root, 'shared')).gid).toBe(100050);
    expect(sh(`getfacl -n ${join(root, 'shared/acl')}`)).toMatch(/user:101000:rw-/);
  });

  it('refuses ids outside the map and other maps on a shifted tree', async () => {
    writeFileSync(join(root, 'far'), '');
    chownSync(join(root, 'far'), 70000, 0);
    await expect(shiftTree(conn, root, MAPS)).rejects.toThrow(IdShiftError);
    await expect(shiftTree(conn, root, MAPS)).rejects.toThrow(/far: owner 70000:0 is outside the id map/);
    rmSync(join(root, 'far'));
    await shiftTree(conn, root, MAPS);
    const other = { uid: [{ inside: 0, outside: 200000, count: 65536 }], gid: MAPS.gid };
    await expect(shiftTree(conn, root, other)).rejects.toThrow(/already shifted with other maps/);
    await expect(
      shiftTree(conn, root, { uid: [{ inside: 0, outside: 1000, count: 65536 }], gid: MAPS.gid }),
    ).rejects.toThrow(/overlap/);
  });

  it('never crosses into another filesystem', async () => {
    mkdirSync(join(root, 'mnt'));
    sh(`mount -t tmpfs tmpfs ${join(root, 'mnt')} && touch ${join(root, 'mnt/inside')}`);
    await shiftTree(conn, root, MAPS);
    expect(lstatSync(join(root, 'mnt/inside')).uid).toBe(0);
  });

  it('shifts with the far end’s privileges: as an ordinary user through sudo, and says so without them', async () => {
    ensureUsers();
    const { CONSFIG_LOCK_DIR: _, ...env } = process.env;
    const throughSudo = await openConnection([runuser(TEST_USER), sudo()], { env });
    const unprivileged = await openConnection([runuser(TEST_USER)], { env });
    try {
      await expect(shiftTree(unprivileged, root, MAPS)).rejects.toThrow(
        /lsetxattr trusted\.consfig\.idshift .*: Operation not permitted/,
      );
      expect((await shiftTree(throughSudo, root, MAPS)).state).toBe('done');
      expect(lstatSync(join(root, 'bin/suid')).uid).toBe(100000);
    } finally {
      await throughSudo.close();
      await unprivileged.close();
    }
  });
});
