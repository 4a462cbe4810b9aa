/**
 * The ssh hop: its pure parts (target parsing, the argv it wraps, where shared masters
 * live), then chains over a real sshd on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, defineHost, deploy, deployMany, openConnection, type DeployEvent } from '@consfig/core';
import { cmd, file } from '@consfig/properties';
import { chroot, parseSshTarget, runuser, ssh, sudo } from '../src/index.js';
import { exercise } from './support/exercise.js';
import { DENIED_USER, processTable, useSshd, TEST_USER } from './support/machine.js';

const saved = { runtime: process.env.XDG_RUNTIME_DIR, persist: process.env.CONSFIG_SSH_PERSIST };
afterEach(() => {
  for (const [key, value] of [
    ['XDG_RUNTIME_DIR', saved.runtime],
    ['CONSFIG_SSH_PERSIST', saved.persist],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const option = (argv: readonly string[], name: string) =>
  argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('ssh hop', () => {
  it('parses [user@]host[:port]', () => {
    expect(parseSshTarget('web1')).toEqual({ host: 'web1' });
    expect(parseSshTarget('root@web1:2222')).toEqual({ host: 'web1', user: 'root', port: 2222 });
    expect(parseSshTarget('admin@[::1]:22')).toEqual({ host: '::1', user: 'admin', port: 22 });
    expect(() => parseSshTarget('a b')).toThrow(/is not \[user@\]host\[:port\]/);
    // a bad hop argument is an InvalidHopError, whose code programs test
    expect(() => ssh('-oProxyCommand=x')).toThrow(expect.objectContaining({ code: 'CONSFIG_INVALID_HOP', hop: 'ssh' }));
  });

  it('uses a private master by default and a shared one with persist', () => {
    delete process.env.CONSFIG_SSH_PERSIST;
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
    process.env.XDG_RUNTIME_DIR = runtime;
    const own = ssh('root@web1').wrap(['true'], { position: 0 });
    expect(option(own, 'ControlPath')).toMatch(/\/consfig-ssh-[^/]+\/cm$/);
    const kept = ssh({ host: 'web1', persist: 90 }).wrap(['true'], { position: 0 });
    expect(option(kept, 'ControlPath')).toBe(join(runtime, 'consfig-ssh', '%C'));
    expect(option(kept, 'ControlPersist')).toBe('90');
    process.env.CONSFIG_SSH_PERSIST = '30';
    expect(option(ssh('web1').wrap(['true'], { position: 0 }), 'ControlPersist')).toBe('30');
    // the run's setting (consfig --ssh-persist) wins over the hop's and the environment's
    expect(
      option(ssh({ host: 'web1', persist: 90 }).wrap(['true'], { position: 0, keepConnections: 5 }), 'ControlPersist'),
    ).toBe('5');
  });

  it('refuses a bad persist and a shared directory others can reach', () => {
    process.env.CONSFIG_SSH_PERSIST = 'soon';
    expect(() => ssh('web1').wrap(['true'], { position: 0 })).toThrow(
      /CONSFIG_SSH_PERSIST must be a whole number of seconds, not "soon"/,
    );
    expect(() => ssh('web1').wrap(['true'], { position: 0, keepConnections: 0 })).toThrow(
      /keepConnections must be a whole number of seconds, not 0/,
    );
    delete process.env.CONSFIG_SSH_PERSIST;
    expect(() => ssh({ host: 'web1', persist: 0 })).toThrow(/persist must be a whole number of seconds/);
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-runtime-'));
    mkdirSync(join(runtime, 'consfig-ssh'));
    chmodSync(join(runtime, 'consfig-ssh'), 0o770);
    process.env.XDG_RUNTIME_DIR = runtime;
    expect(() => ssh({ host: 'web1', persist: 60 }).wrap(['true'], { position: 0 })).toThrow(
      /must belong to this user alone/,
    );
  });
});

const sshd = useSshd();

describe('ssh chains over a real sshd', () => {
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
        execFileSync('ssh', ['-o', `ControlPath=${join(runtime, 'consfig-ssh', socket)}`, '-O', 'exit', 'x'], {
          stdio: 'ignore',
        });
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
    execFileSync('sh', [
      '-c',
      `echo "[127.0.0.1]:${sshd.port} $(cat ${sshd.dir}/client_key.pub | cut -d' ' -f1,2)" > ${wrongKnownHosts}`,
    ]);
    const mismatch = await openConnection([
      sshd.hop('root', {
        options: [
          ...badKey.options!.slice(0, 2),
          '-o',
          `UserKnownHostsFile=${wrongKnownHosts}`,
          '-o',
          'StrictHostKeyChecking=yes',
        ],
      }),
    ]).catch((e: unknown) => e);
    expect((mismatch as Error).message).toMatch(/Host key verification failed/);
  });
});

describe('the deployment lock over a chain', () => {
  it('ssh: a second deployment of the target waits for the first, and says whose it is', async () => {
    // As a user of its own, whose lock no other test file takes (root's over ssh, they may).
    const events: DeployEvent[] = [];
    const host = (n: string) =>
      defineHost(`${n}.example`, [cmd.single(['sleep', '0.8'])], { via: [sshd.hop(TEST_USER)] });
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
