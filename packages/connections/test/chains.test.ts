import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionError,
  defineHost,
  deploy,
  deployMany,
  envSource,
  openConnection,
  type Connection,
  type DeployEvent,
} from '@consfig/core';
import { cmd, file } from '@consfig/properties';
import { chroot, nsenter, runuser, sudo } from '../src/index.js';
import { HOSTILE_BYTES, HOSTILE_STRINGS } from '../../core/test/support/hostile.js';
import {
  DENIED_USER,
  mountNamespacesInUse,
  mountsBelow,
  PASSWORD,
  PASSWORD_USER,
  processTable,
  startSshd,
  TEST_USER,
  unpackRootfs,
  type TestSshd,
} from './support/machine.js';

let sshd: TestSshd;
let rootfs: string;

beforeAll(async () => {
  sshd = await startSshd();
  rootfs = unpackRootfs('/var/lib/consfig-test/chroot-connections');
}, 300_000);
afterAll(async () => {
  await sshd?.stop();
});

/** What every chain must do: hostile round trips and both pipes drained. */
async function exercise(conn: Connection, dir: string): Promise<void> {
  const args = await conn.run(['printf', '%s\\0', ...HOSTILE_STRINGS.slice(0, -1)]);
  expect(args.stdout.toString().split('\0').slice(0, -1)).toEqual(HOSTILE_STRINGS.slice(0, -1));
  for (const [i, data] of [...HOSTILE_STRINGS.map((s) => Buffer.from(s)), ...HOSTILE_BYTES, Buffer.alloc(200_000, 7)].entries()) {
    const path = `${dir}/hostile-${i}`;
    await conn.writeFile(path, data);
    expect(Buffer.compare(await conn.readFile(path), data)).toBe(0);
  }
  const big = await conn.run(['sh', '-c', 'head -c 100000000 /dev/zero & head -c 100000000 /dev/zero >&2; wait']);
  expect([big.exitCode, big.stdout.length, big.stderr.length]).toEqual([0, 100_000_000, 100_000_000]);
}

/** The mount namespace of the agent, and whether any process is still in it. */
function mntNamespaceOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/mnt`);
}
function namespaceInUse(ns: string): boolean {
  return mountNamespacesInUse().has(ns);
}

describe('ssh', () => {
  it('round-trips hostile data and drains 100 MB per stream, over one multiplexed chain', async () => {
    const conn = await openConnection([sshd.hop('root')]);
    const dir = mkdtempSync(join(tmpdir(), 'consfig-ssh-'));
    await exercise(conn, dir);
    // asUser-style extensions reuse the master: one more session, no new TCP connection
    const other = await conn.extend(runuser(TEST_USER));
    expect((await other.run(['id', '-un'])).stdout.toString()).toBe(`${TEST_USER}\n`);
    await conn.close();
    // the ControlMaster is gone once the connection closed
    expect(processTable().filter((l) => l.includes(`-p ${sshd.port}`) && l.startsWith('ssh'))).toEqual([]);
  }, 120_000);

  it('with persist, keeps the master for the next run, which skips the handshake', async () => {
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    // pid and command line of each master kept in the shared directory
    const masters = () =>
      execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.includes(`ssh: ${runtime}/consfig-ssh/`) && l.endsWith('[mux]'));
    try {
      const first = await openConnection([sshd.hop(TEST_USER, { persist: 30 })]);
      expect((await first.run(['id', '-un'])).stdout.toString()).toBe(`${TEST_USER}\n`);
      await first.close();
      const kept = masters();
      expect(kept).toHaveLength(1);
      expect(statSync(join(runtime, 'consfig-ssh')).mode & 0o777).toBe(0o700);
      // the next run is one more session of the same master, not a new one
      const second = await openConnection([sshd.hop(TEST_USER, { persist: 30 })]);
      expect((await second.run(['echo', 'again'])).stdout.toString()).toBe('again\n');
      expect(masters()).toEqual(kept);
      await second.close();
    } finally {
      for (const socket of readdirSync(join(runtime, 'consfig-ssh'))) {
        execFileSync('ssh', ['-o', `ControlPath=${join(runtime, 'consfig-ssh', socket)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
      }
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
    expect(masters()).toEqual([]);
  }, 60_000);

  it('reports a refused connection and a host key mismatch as such', async () => {
    const refused = await openConnection([sshd.hop('root', { port: 1 })]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionError);
    expect((refused as Error).message).toMatch(/ssh:root@127\.0\.0\.1:1.*Connection refused/);
    const badKey = sshd.target('root');
    const wrongKnownHosts = join(mkdtempSync(join(tmpdir(), 'consfig-kh-')), 'known_hosts');
    execFileSync('sh', ['-c', `echo "[127.0.0.1]:${sshd.port} $(cat ${sshd.dir}/client_key.pub | cut -d' ' -f1,2)" > ${wrongKnownHosts}`]);
    const mismatch = await openConnection([
      sshd.hop('root', { options: [...badKey.options!.slice(0, 2), '-o', `UserKnownHostsFile=${wrongKnownHosts}`, '-o', 'StrictHostKeyChecking=yes'] }),
    ]).catch((e: unknown) => e);
    expect((mismatch as Error).message).toMatch(/Host key verification failed/);
  });
});

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
    expect((denied as Error).message).toMatch(/ssh:consfig-tdeny@127\.0\.0\.1:\d+ → sudo: .*password is required/);
    const wrong = await openConnection([sshd.hop(PASSWORD_USER), sudo({ password: 'wrong' })]).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/incorrect password|Sorry, try again/);
  });
});

describe('the deployment lock over a chain', () => {
  it('ssh: a second deployment of the target waits for the first, and says whose it is', async () => {
    // As a user of its own, whose lock no other test file takes (root's over ssh, they may).
    const events: DeployEvent[] = [];
    const host = (n: string) => defineHost(`${n}.example`, [cmd.single(['sleep', '0.8'])], { via: [sshd.hop(TEST_USER)] });
    const first = deploy(host('first'));
    await new Promise((r) => setTimeout(r, 400));
    const second = await deploy(host('second'), undefined, { onEvent: (e) => events.push(e) });
    expect([(await first).status, second.status]).toEqual(['ok', 'ok']);
    const waiting = events.find((e) => e.type === 'host:waiting');
    expect(waiting?.type === 'host:waiting' && waiting.holder).toMatch(/deploying first\.example since/);
    // the holder's file on the target, the user's own
    const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }));
    const lockFile = statSync(`/run/lock/consfig-${uid}.lock`);
    expect([lockFile.uid, lockFile.mode & 0o777]).toEqual([uid, 0o600]);
  }, 60_000);
});

describe('chroot', () => {
  it('local → chroot: mounts live only in the connection, services are denied', async () => {
    const conn = await openConnection([chroot(rootfs)]);
    expect((await conn.readFile('/etc/debian_version')).toString()).toMatch(/^12\./);
    const mounts = (await conn.readFile('/proc/self/mountinfo')).toString();
    for (const m of [' /proc ', ' /sys ', ' /dev ', ' /dev/pts ', ' /run ']) expect(mounts).toContain(m);
    const policy = await conn.run(['/usr/sbin/policy-rc.d', 'apache2', 'start']);
    expect(policy.exitCode).toBe(101);
    await exercise(conn, '/root');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
    expect(existsSync(join(rootfs, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(readFileSync(join(rootfs, 'root/hostile-0'), 'utf8')).toBe('');
  }, 120_000);

  it('ssh → sudo → chroot', async () => {
    const conn = await openConnection([sshd.hop(TEST_USER), sudo(), chroot(rootfs)]);
    expect((await conn.run(['cat', '/etc/os-release'])).stdout.toString()).toMatch(/bookworm/);
    await exercise(conn, '/tmp');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
  }, 120_000);

  it('chroot → chroot → chroot: at any depth, its mounts gone with it', async () => {
    const outer = unpackRootfs('/var/lib/consfig-test/chroot-nest');
    unpackRootfs(join(outer, 'srv/middle'));
    unpackRootfs(join(outer, 'srv/middle/srv/inner'));
    writeFileSync(join(outer, 'srv/middle/srv/inner/etc/where'), 'innermost\n');
    const conn = await openConnection([chroot(outer), chroot('/srv/middle'), chroot('/srv/inner')]);
    expect((await conn.readFile('/etc/where')).toString()).toBe('innermost\n');
    expect((await conn.run(['sh', '-c', 'apt-get --version >/dev/null && echo ok'])).stdout.toString()).toBe('ok\n');
    await exercise(conn, '/root');
    const ns = mntNamespaceOf(conn.pid);
    await conn.close();
    expect(namespaceInUse(ns)).toBe(false);
    expect(mountsBelow(outer)).toEqual([]);
  }, 120_000);

  it('a missing chroot fails the host with the hop named', async () => {
    const error = await openConnection([chroot('/nonexistent/root')]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/chroot:\/nonexistent\/root.*is not a directory/);
  });
});

describe('local → runuser → nsenter', () => {
  it('enters a user+mount namespace made with unshare by a non-root user', async () => {
    const holder = spawn('runuser', ['-u', TEST_USER, '--', 'sh', '-c', 'echo $$; exec unshare -Urm sleep 300'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number(await new Promise<string>((r) => holder.stdout.once('data', (d: Buffer) => r(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 300));
    try {
      const conn = await openConnection([runuser(TEST_USER), nsenter(pid)]);
      expect(conn.uid).toBe(0);
      expect((await conn.run(['readlink', '/proc/self/ns/user'])).stdout.toString().trim()).toBe(readlinkSync(`/proc/${pid}/ns/user`));
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

describe('failures mid-deploy', () => {
  it('a killed ssh master fails the host cleanly and leaves no partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consfig-kill-'));
    const host = defineHost(
      'killed.example',
      [cmd.single(['sleep', '2']), file.hasContent(join(dir, 'after'), 'x'.repeat(1 << 20))],
      { via: [sshd.hop('root')] },
    );
    const pending = deploy(host);
    await new Promise((r) => setTimeout(r, 800));
    execFileSync('sh', ['-c', `pkill -f "[C]ontrolPersist=.* -p ${sshd.port} " || true`]);
    const result = await pending;
    expect(result.status).toBe('unreachable');
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);

  it('a failed hop fails only its host; the others go on', async () => {
    const results = await deployMany([
      defineHost('ok.example', [cmd.single(['true'])], { via: [sshd.hop('root')] }),
      defineHost('denied.example', [cmd.single(['true'])], { via: [sshd.hop(DENIED_USER), sudo()] }),
      defineHost('nochroot.example', [cmd.single(['true'])], { via: [chroot('/nonexistent')] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'unreachable', 'unreachable']);
    // no ssh master outlives its chain, not even the one whose sudo was refused
    const masters = () => processTable().filter((l) => l.startsWith('ssh ') && l.includes(` -p ${sshd.port} `));
    for (let i = 0; i < 50 && masters().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(masters()).toEqual([]);
  }, 60_000);

  it('an interrupt kills the remote commands too', async () => {
    const seconds = `${60 + (Date.now() % 1000) / 1000}`;
    const marker = `sleep ${seconds}`;
    const controller = new AbortController();
    const pending = deploy(
      defineHost('interrupted.example', [cmd.single(['sleep', seconds])], { via: [sshd.hop('root')] }),
      undefined,
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(processTable().some((l) => l.startsWith(marker))).toBe(true);
    controller.abort();
    const result = await pending;
    expect(result.status).toBe('failed');
    await new Promise((r) => setTimeout(r, 300));
    expect(processTable().filter((l) => l.startsWith(marker))).toEqual([]);
  }, 60_000);
});

