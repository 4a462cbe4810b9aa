import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineHost,
  defprop,
  deploy,
  deployMany,
  openConnection,
  unapply,
  type Connection,
  type DeployEvent,
  type Host,
} from '@consfig/core';
import { lxc as lxcHop, su, sudo } from '@consfig/connections';
import { defaultMapsFor } from '@consfig/rootfs';
import { apt, cmd, file, lxc, os } from '../src/index.js';
import { asOwner, isRunning, removeAllContainers, sh } from './support/lxc.js';
import { INIT_PID_PERL } from '../../connections/src/lxc-enter.js';
import { PERL_ARCH } from '../../core/src/agent/perl-arch.js';
import {
  ensureBridge,
  ensureUsers,
  startSshd,
  TEST_USER,
  type TestSshd,
} from '../../connections/test/support/machine.js';

const LXCPATH = `/var/lib/consfig-test/lxc-props-${TEST_USER}`;
const SLEEP_INIT = 'lxc.init.cmd = /usr/bin/sleep infinity';

const asUser = (command: string) => asOwner(TEST_USER, command);
const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
const cmdline = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
const running = (name: string) => isRunning(TEST_USER, LXCPATH, name);

const containerHost = (n: string, extra: unknown[] = []): Host =>
  defineHost(`${n}.lxc.example`, [
    os.debianStable('bookworm', 'amd64'),
    file.hasContent('/etc/motd', `this is ${n}`),
    ...extra,
  ]);

const options = (extra: Record<string, unknown> = {}) => ({
  owner: TEST_USER,
  lxcpath: LXCPATH,
  start: true,
  additionalLines: [SLEEP_INIT, 'lxc.net.0.type = empty'],
  ...extra,
});

/**
 * The same directories and files made through the container's agent (/srv/by-agent) and
 * through its root out here (/srv/by-root, no process): the agent sees them alike.
 */
async function madeBothWays(agent: Connection, rooted: Connection): Promise<void> {
  for (const [conn, at] of [
    [agent, '/srv/by-agent'],
    [rooted, '/srv/by-root'],
  ] as const) {
    expect((await conn.run(['mkdir', '-p', '--', `${at}/a/b`])).exitCode).toBe(0);
    await conn.writeFile(`${at}/a/b/f`, 'new\n', { mode: '0640' });
    await conn.writeFile(`${at}/a/b/f`, 'replaced\n');
    await conn.writeFile(`${at}/a/g`, 'g\n');
  }
  expect(rooted.pid).toBe(0);
  const seen = async (at: string) => {
    const paths = ['', '/a', '/a/b', '/a/b/f', '/a/g'].map((p) => `${at}${p}`);
    const found = await agent.probe(paths.map((path) => ({ path, content: true })));
    return paths.map((p) => ({ ...found.get(p)!, path: p.slice(at.length) }));
  };
  const byRoot = await seen('/srv/by-root');
  expect(byRoot).toEqual(await seen('/srv/by-agent'));
  expect(byRoot[3]).toMatchObject({ user: 'root', group: 'root', mode: 0o640, content: Buffer.from('replaced\n') });
}

let sshd: TestSshd;
beforeAll(async () => {
  ensureUsers();
  ensureBridge();
  removeAllContainers(TEST_USER, LXCPATH); // a run killed half-way leaves them
  sshd = await startSshd();
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
  removeAllContainers(TEST_USER, LXCPATH);
});

describe('lxc properties', () => {
  it('usernetUsableBy keeps one line for the user and bridge', async () => {
    const host = defineHost('lxchost.example', [lxc.usernetUsableBy(TEST_USER, 'lxcbr0', 10)]);
    await deploy(host, 'local');
    expect((await deploy(host, 'local')).unchanged).toBe(1);
    expect(sh('cat /etc/lxc/lxc-usernet')).toContain(`${TEST_USER} veth lxcbr0 10\n`);
    await deploy(defineHost('lxchost.example', [lxc.usernetUsableBy(TEST_USER, 'lxcbr0', 4)]), 'local');
    expect(sh(`grep -c '^${TEST_USER} veth lxcbr0' /etc/lxc/lxc-usernet`).trim()).toBe('1');
    await deploy(defineHost('lxchost.example', [lxc.usernetVethUsableBy(TEST_USER)]), 'local');
  });

  it('userContainerFor builds, shifts, starts and configures a container from inside; then no change', async () => {
    const c1 = containerHost('c1', [apt.installed('hello')]);
    const parent = defineHost('lxchost.example', [lxc.userContainerFor(options(), c1)]);
    const first = await deploy(parent, 'local');
    expect(first.failures.map((f) => f.error.message)).toEqual([]);
    // built and configured, shifted, (the home made passable,) config written, started;
    // the deploy from inside then finds it all done
    expect(first.changed).toBeGreaterThanOrEqual(4);
    expect(running('c1')).toBe(true);
    expect(parent.attrs.get(lxc.containersAttr).map((c) => [c.name, c.owner])).toEqual([['c1', TEST_USER]]);
    // checked from inside, entered as the owner by root (setpriv to the owner first)
    const conn = await openConnection([lxcHop({ name: 'c1', owner: TEST_USER, lxcpath: LXCPATH })]);
    expect(conn.uid).toBe(0);
    // with the init's environment, which the owner can read only from inside
    expect((await conn.run(['sh', '-c', 'echo "$container $HOME"'])).stdout.toString()).toBe('lxc /root\n');
    expect((await conn.readFile('/etc/motd')).toString()).toBe('this is c1\n');
    expect((await conn.run(['dpkg-query', '-W', '-f', '${Status}', 'hello'])).stdout.toString()).toBe(
      'install ok installed',
    );
    expect((await conn.run(['cat', '/proc/1/cmdline'])).stdout.toString()).toBe('/usr/bin/sleep\0infinity\0');
    await conn.close();
    // In the container's PID namespace, the agent itself as well as what it runs (the
    // front's first commands, the shell's after them): its own reads of what goes through
    // /proc/self (/proc/net, /proc/mounts) are the container's.
    const entered = await openConnection([lxcHop({ name: 'c1', owner: TEST_USER, lxcpath: LXCPATH })]);
    const inPidNs = ['sh', '-c', '[ "$(readlink /proc/self/ns/pid)" = "$(readlink /proc/1/ns/pid)" ] && echo in'];
    const probed = await entered.probe([{ path: '/proc/self/mounts', content: false }]);
    expect(probed.get('/proc/self/mounts')?.exists).toBe(true);
    for (let i = 0; i < 3; i++) expect((await entered.run(inPidNs)).stdout.toString()).toBe('in\n');
    expect((await entered.readFile('/proc/net/dev')).toString()).toMatch(/^ *lo:/m);
    expect((await entered.readFile('/proc/mounts')).toString()).toMatch(/ \/ /);
    // the deployment lock is still one per container: another chain into it is refused
    await entered.lock({ holder: 'test', waitMs: 0 });
    const other = await openConnection([lxcHop({ name: 'c1', owner: TEST_USER, lxcpath: LXCPATH })]);
    await expect(other.lock({ holder: 'other', waitMs: 0 })).rejects.toThrow(/test/);
    await other.close();
    await entered.close();
    // outside, the tree belongs to the owner's subordinate ids
    expect(sh(`stat -c %u ${LXCPATH}/c1/rootfs/etc/motd`).trim()).toBe(
      String(defaultMapsFor(TEST_USER).uid[0]!.outside),
    );
    const again = await deploy(parent, 'local');
    expect([again.status, again.changed]).toEqual(['ok', 0]);
    // check mode: nothing pending; then exactly what drifted inside the running container
    expect((await deploy(parent, 'local', { dryRun: true })).changed).toBe(0);
    sh(`printf drifted > ${LXCPATH}/c1/rootfs/etc/motd`);
    const events: DeployEvent[] = [];
    const drift = await deploy(parent, 'local', { dryRun: true, onEvent: (e) => events.push(e) });
    expect([drift.status, drift.changed]).toEqual(['ok', 1]);
    const inside = events.flatMap((e) =>
      e.type === 'property:end' && e.host === 'c1.lxc.example' && e.status === 'changed' ? [e] : [],
    );
    expect(inside.map((e) => [e.desc, e.changes[0]?.before])).toEqual([['/etc/motd has content', 'drifted']]);
    expect(sh(`cat ${LXCPATH}/c1/rootfs/etc/motd`)).toBe('drifted');
    expect((await deploy(parent, 'local')).changed).toBe(1);
  }, 600_000);

  it('deploys into the running container as its owner, locally, over ssh and through sudo and su', async () => {
    const c1 = containerHost('c1', [file.hasContent('/etc/owner-was-here', 'yes')]);
    const local = await deploy(c1, [su(TEST_USER), lxcHop({ name: 'c1', lxcpath: LXCPATH })]);
    expect(local.failures.map((f) => f.error.message)).toEqual([]);
    expect(local.changed).toBe(1);
    const viaSsh = await deploy(containerHost('c1', [file.hasContent('/etc/over-ssh', 'yes')]), [
      sshd.hop(TEST_USER),
      lxcHop({ name: 'c1', lxcpath: LXCPATH }),
    ]);
    expect(viaSsh.failures.map((f) => f.error.message)).toEqual([]);
    expect(viaSsh.changed).toBe(1);
    expect(sh(`cat ${LXCPATH}/c1/rootfs/etc/over-ssh`)).toBe('yes\n');
    // ssh → sudo → su → lxc, and ssh → sudo → lxc naming the owner (root becomes it)
    const chains = [
      [sshd.hop(TEST_USER), sudo(), su(TEST_USER), lxcHop({ name: 'c1', lxcpath: LXCPATH })],
      [sshd.hop(TEST_USER), sudo(), lxcHop({ name: 'c1', owner: TEST_USER, lxcpath: LXCPATH })],
      [sshd.hop(TEST_USER), sudo(), lxcHop({ name: 'c1', owner: TEST_USER, lxcpath: LXCPATH, method: 'attach' })],
    ];
    for (const [i, chain] of chains.entries()) {
      const r = await deploy(containerHost('c1', [file.hasContent(`/etc/chain-${i}`, `chain ${i}`)]), chain);
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      expect(sh(`cat ${LXCPATH}/c1/rootfs/etc/chain-${i}`)).toBe(`chain ${i}\n`);
    }
  }, 120_000);

  it("finds a container's init by its command socket, as lxc-info does, without running lxc-info", () => {
    const script = `${PERL_ARCH}\n${INIT_PID_PERL}\nprint init_pid($ARGV[0], $ARGV[1]) // 'undef'`;
    const ask = (user: string, name: string) =>
      execFileSync('runuser', ['-u', user, '--', 'perl', '-e', script, name, LXCPATH], { encoding: 'utf8' });
    const pid = asUser(`lxc-info -P ${LXCPATH} -n c1 -p -H`).trim();
    expect(pid).toMatch(/^\d+$/);
    expect(ask(TEST_USER, 'c1')).toBe(pid);
    // No such container: lxc-info is left to say so.
    expect(ask(TEST_USER, 'nosuch')).toBe('undef');
    // A monitor run by someone else than us or root is not believed.
    expect(ask('nobody', 'c1')).toBe('undef');
  });

  it('enters with lxc-attach too (the fallback where nsenter is missing)', async () => {
    const r = await deploy(containerHost('c1', [file.hasContent('/etc/attached', 'yes')]), [
      su(TEST_USER),
      lxcHop({ name: 'c1', lxcpath: LXCPATH, method: 'attach' }),
    ]);
    expect(r.failures.map((f) => f.error.message)).toEqual([]);
    expect(r.changed).toBe(1);
    expect(sh(`cat ${LXCPATH}/c1/rootfs/etc/attached`)).toBe('yes\n');
    const conn = await openConnection([su(TEST_USER), lxcHop({ name: 'c1', lxcpath: LXCPATH, method: 'attach' })]);
    expect(conn.uid).toBe(0);
    expect((await conn.run(['sh', '-c', 'echo "$container"'])).stdout.toString()).toBe('lxc\n');
    const big = await conn.run(['sh', '-c', 'head -c 10000000 /dev/zero & head -c 10000000 /dev/zero >&2; wait']);
    expect([big.stdout.length, big.stderr.length]).toEqual([10_000_000, 10_000_000]);
    await conn.close();
  }, 120_000);

  it('deploys four containers in parallel', async () => {
    const names = ['p1', 'p2', 'p3', 'p4'];
    const hosts = names.map((n) => containerHost(n));
    const built = await deploy(
      defineHost(
        'lxchost.example',
        hosts.map((h) => lxc.userContainerFor(options(), h)),
      ),
      'local',
    );
    expect(built.failures.map((f) => f.error.message)).toEqual([]);
    const work = names.map((n, i) =>
      defineHost(
        `${n}.lxc.example`,
        [...Array.from({ length: 20 }, (_, k) => file.hasContent(`/srv/f${k}`, `${n} ${k}`))],
        { via: [su(TEST_USER), lxcHop({ name: names[i]!, lxcpath: LXCPATH })] },
      ),
    );
    const results = await deployMany(work, { parallel: 4 });
    expect(results.map((r) => [r.host, r.status, r.changed])).toEqual(names.map((n) => [`${n}.lxc.example`, 'ok', 20]));
    for (const n of names) expect(sh(`cat ${LXCPATH}/${n}/rootfs/srv/f3`)).toBe(`${n} 3\n`);
  }, 600_000);

  it("uses the owner's default lxcpath, entered by nsenter and by lxc-attach", async () => {
    const home = sh(`getent passwd ${TEST_USER} | cut -d: -f6`).trim();
    const d1 = containerHost('d1');
    const defaults = { owner: TEST_USER, start: true, additionalLines: [SLEEP_INIT, 'lxc.net.0.type = empty'] };
    const built = await deploy(defineHost('lxchost.example', [lxc.userContainerFor(defaults, d1)]), 'local');
    expect(built.failures.map((f) => f.error.message)).toEqual([]);
    expect(existsSync(`${home}/.local/share/lxc/d1/config`)).toBe(true);
    for (const method of ['nsenter', 'attach'] as const) {
      const conn = await openConnection([lxcHop({ name: 'd1', owner: TEST_USER, method })]);
      expect((await conn.readFile('/etc/motd')).toString()).toBe('this is d1\n');
      await conn.close();
    }
    // `consfig check` of the removal names exactly the steps the removal changes, and
    // after it nothing: the steps that the tree's removal undoes claim no change of their own.
    const removal = defineHost('lxchost.example', [unapply(lxc.userContainerFor(defaults, d1))]);
    const changedLeaves = async (dryRun: boolean) => {
      const events: DeployEvent[] = [];
      const r = await deploy(removal, 'local', { dryRun, onEvent: (e) => events.push(e) });
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      return events.flatMap((e) => (e.type === 'property:end' && e.leaf && e.status === 'changed' ? [e.desc] : []));
    };
    const wouldChange = await changedLeaves(true);
    expect(wouldChange).toEqual(['d1 running', "d1's tree built and configured"]);
    expect(await changedLeaves(false)).toEqual(wouldChange);
    expect(existsSync(`${home}/.local/share/lxc/d1`)).toBe(false);
    expect(await changedLeaves(true)).toEqual([]);
  }, 600_000);

  it('enters containers from one perl of the run: each chain a copy forked from it', async () => {
    const hop = (n: string) => lxcHop({ name: n, owner: TEST_USER, lxcpath: LXCPATH });
    const conns = await Promise.all(['p1', 'p2', 'p3'].map((n) => openConnection([hop(n)])));
    try {
      // A command starts each agent (root's connections read through the container's root till then).
      const names = await Promise.all(conns.map(async (c) => (await c.run(['cat', '/etc/motd'])).stdout.toString()));
      expect(names).toEqual(['this is p1\n', 'this is p2\n', 'this is p3\n']);
      const forkers = childrenOf(process.pid).filter((pid) => cmdline(pid).startsWith('perl\0-e\0FORKER:'));
      expect(forkers).toHaveLength(1);
      // Each open chain's helper (waiting for its agent in the container) is the forker's child.
      expect(childrenOf(forkers[0]!).length).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('keeps the entered agent for later runs (persist): they attach to it, until it idles out or is gone', async () => {
    const runtime = mkdtempSync(join(tmpdir(), 'consfig-keep-'));
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    const hop = () => lxcHop({ name: 'p2', owner: TEST_USER, lxcpath: LXCPATH, persist: 3 });
    // The pid (in the container) of the parent of the agent that runs the command: 0 for
    // an agent entered from out here, the kept server's for one attached to it.
    const agentParent = async (conn?: Connection) => {
      const c = conn ?? (await openConnection([hop()]));
      const r = await c.run(['sh', '-c', 'read -r _ _ _ pp _ < /proc/$PPID/stat; echo $pp']);
      if (!conn) await c.close();
      return Number(r.stdout.toString());
    };
    const sockets = () => readdirSync(join(runtime, 'consfig-lxc'));
    try {
      expect(await agentParent()).toBe(0);
      expect(sockets()).toHaveLength(1);
      expect(statSync(join(runtime, 'consfig-lxc', sockets()[0]!)).isSocket()).toBe(true);
      const server = await agentParent();
      expect(server).toBeGreaterThan(0);
      expect(await agentParent()).toBe(server);
      // A chain started at once (the owner's way, and root's without its own reads) attaches too, and closes.
      const eager = await openConnection([hop()], { inProcess: false });
      expect(await agentParent(eager)).toBe(server);
      await eager.close();
      const conn = await openConnection([hop()]);
      expect(await agentParent(conn)).toBe(server);
      expect((await conn.run(['cat', '/etc/motd'])).stdout.toString()).toBe('this is p2\n');
      // An interrupt stops the kept agent's command (there is no process here to kill).
      const sleeping = conn.run(['sleep', '61']).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sh('ps -eo args')).toContain('sleep 61');
      await conn.abort();
      await sleeping;
      for (let i = 0; i < 50 && sh('ps -eo args').includes('sleep 61'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(sh('ps -eo args')).not.toContain('sleep 61');
      // A server that is gone (killed here) leaves its socket: the next chain enters anew.
      const killer = await openConnection([hop()]);
      await killer.run(['sh', '-c', 'kill "$1"', 'sh', String(server)]);
      await killer.close();
      expect(await agentParent()).toBe(0);
      const again = await agentParent();
      expect(again).toBeGreaterThan(0);
      expect(again).not.toBe(server);
      // Idle for its 3 s: gone by itself, and the next chain enters anew.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      expect(await agentParent()).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
      rmSync(runtime, { recursive: true, force: true });
    }
  }, 60_000);

  it("reads a container through its root when root deploys: its agent's answers, its own links and ids", async () => {
    const hop = lxcHop({ name: 'p1', owner: TEST_USER, lxcpath: LXCPATH });
    const agent = await openConnection([hop], { inProcess: false });
    const made = await agent.run([
      'sh',
      '-c',
      'id probeuser >/dev/null 2>&1 || useradd -M probeuser; rm -rf /srv/t; mkdir -p /srv/t; echo hi > /srv/t/f; ' +
        'chown probeuser /srv/t/f; ln -s /etc /srv/t/etc; echo s > /srv/t/secret; chmod 600 /srv/t/secret; ' +
        'mkfifo /srv/t/p; chown 4000:4000 /srv/t/p',
    ]);
    expect(made.stderr.toString()).toBe('');
    const paths = ['/srv/t', '/srv/t/f', '/srv/t/etc', '/srv/t/etc/hostname', '/srv/t/secret', '/srv/t/p', '/srv/t/no'];
    const queries = [...paths, '/run/lock', '/etc/motd'].map((path) => ({ path, content: true }));
    const byAgent = await agent.probe(queries);
    await agent.close();
    const rooted = await openConnection([hop]);
    try {
      expect(await rooted.probe(queries)).toEqual(byAgent);
    } finally {
      await rooted.close();
    }
    // What was compared: the container's things (its /etc through a link to /etc, its user's name).
    expect(byAgent.get('/srv/t/f')).toMatchObject({ user: 'probeuser', content: Buffer.from('hi\n') });
    expect(byAgent.get('/srv/t/etc/hostname')!.content!.toString()).toBe(sh(`cat ${LXCPATH}/p1/rootfs/etc/hostname`));
    expect(byAgent.get('/srv/t/p')).toMatchObject({ type: 'fifo', uid: 4000, user: '4000' });
  });

  it('starts no process for a root deployment of files into a container, changed or not; a command does', async () => {
    const hop = lxcHop({ name: 'p1', owner: TEST_USER, lxcpath: LXCPATH });
    // The last pid the container's PID namespace gave out, as its own /proc tells.
    const init = sh(`lxc-info -P ${LXCPATH} -n p1 -p -H`).trim();
    const lastPid = () => Number(readFileSync(`/proc/${init}/root/proc/loadavg`, 'utf8').trim().split(' ')[4]);
    const before = lastPid();
    const same = await deploy(defineHost('p1.lxc.example', [file.hasContent('/etc/motd', 'this is p1')]), [hop]);
    expect([same.status, same.unchanged, same.failures.map((f) => f.error.message)]).toEqual(['ok', 1, []]);
    expect(lastPid()).toBe(before);
    const other = await deploy(defineHost('p1.lxc.example', [file.hasContent('/srv/new/dir/motd', 'not p1')]), [hop]);
    expect([other.status, other.changed]).toEqual(['ok', 1]);
    expect(lastPid()).toBe(before);
    const ran = await deploy(defineHost('p1.lxc.example', [cmd.single(['true'])]), [hop]);
    expect([ran.status, ran.changed]).toEqual(['ok', 1]);
    expect(lastPid()).toBeGreaterThan(before);
  });

  it("writes files and makes directories through a container's root as its agent does", async () => {
    const hop = lxcHop({ name: 'p1', owner: TEST_USER, lxcpath: LXCPATH });
    const agent = await openConnection([hop], { inProcess: false });
    const rooted = await openConnection([hop]);
    try {
      await agent.run(['rm', '-rf', '/srv/by-agent', '/srv/by-root']);
      await madeBothWays(agent, rooted);
      // out here: the container's root, not this machine's
      const st = statSync(`${LXCPATH}/p1/rootfs/srv/by-root/a/b/f`);
      expect(st.uid).toBe(statSync(`${LXCPATH}/p1/rootfs/etc/motd`).uid);
      expect(st.uid).not.toBe(0);
      // nor more than the container's root may: a directory of an id its namespace does not map
      sh(`rm -rf ${LXCPATH}/p1/rootfs/srv/unmapped && mkdir -m 755 ${LXCPATH}/p1/rootfs/srv/unmapped`);
      for (const conn of [rooted, agent]) {
        await expect(conn.writeFile('/srv/unmapped/f', 'x\n')).rejects.toThrow(/cannot write \/srv\/unmapped\/f/);
        expect((await conn.run(['mkdir', '-p', '--', '/srv/unmapped/d'])).exitCode).not.toBe(0);
      }
      expect(readdirSync(`${LXCPATH}/p1/rootfs/srv/unmapped`)).toEqual([]);
    } finally {
      await agent.close();
      await rooted.close();
    }
  });

  it("writes into an overlay snapshot's root (a filesystem its user namespace mounts) as its agent does", async () => {
    // LXC's snapshot of a stopped container: its tree below, a directory of its own above,
    // mounted by the container's user namespace, where root's own ids have no name.
    asUser(`lxc-stop -P ${LXCPATH} -n p4 -k`);
    // (no lock file below: the snapshot's is made, from out here too)
    sh(`rm -f ${LXCPATH}/p4/rootfs/run/lock/consfig.lock`);
    asUser(`lxc-copy -P ${LXCPATH} -n p4 -N p4s -s -B overlay`);
    asUser(`lxc-start -P ${LXCPATH} -n p4s`);
    const hop = lxcHop({ name: 'p4s', owner: TEST_USER, lxcpath: LXCPATH });
    const agent = await openConnection([hop], { inProcess: false });
    const rooted = await openConnection([hop]);
    try {
      const locker = await openConnection([hop]);
      await locker.lock({ holder: 'the snapshot test', waitMs: 0 });
      expect(locker.pid).toBe(0);
      expect(statSync(`${LXCPATH}/p4s/overlay/delta/run/lock/consfig.lock`).uid).toBe(
        statSync(`${LXCPATH}/p4/rootfs/etc/motd`).uid,
      );
      await locker.close();
      await madeBothWays(agent, rooted);
      // in the snapshot's own directory, the container root's out here; the tree below untouched
      const st = statSync(`${LXCPATH}/p4s/overlay/delta/srv/by-root/a/b/f`);
      expect(st.uid).toBe(statSync(`${LXCPATH}/p4/rootfs/etc/motd`).uid);
      expect(existsSync(`${LXCPATH}/p4/rootfs/srv/by-root`)).toBe(false);
      const r = await deploy(containerHost('p4s', [file.hasContent('/srv/by-root/a/g', 'deployed\n')]), [hop]);
      expect([r.status, r.changed, r.failures.map((f) => f.error.message)]).toEqual(['ok', 2, []]);
      expect(readFileSync(`${LXCPATH}/p4s/overlay/delta/srv/by-root/a/g`, 'utf8')).toBe('deployed\n');
    } finally {
      await agent.close();
      await rooted.close();
      asUser(`lxc-stop -P ${LXCPATH} -n p4s -k; lxc-destroy -P ${LXCPATH} -n p4s; lxc-start -P ${LXCPATH} -n p4`);
    }
  });

  it("takes the container's lock through its root, and its agent's lock excludes it, either way round", async () => {
    const rootWay = [lxcHop({ name: 'p1', owner: TEST_USER, lxcpath: LXCPATH })];
    const agentWay = [su(TEST_USER), lxcHop({ name: 'p1', lxcpath: LXCPATH })];
    for (const [holding, waiting] of [
      [rootWay, agentWay],
      [agentWay, rootWay],
    ]) {
      const holder = await openConnection(holding!);
      await holder.lock({ holder: `holder ${holding === rootWay ? 'root' : 'agent'}`, waitMs: 0 });
      const r = await deploy(containerHost('p1'), waiting!, { lockWaitMs: 300 });
      expect(r.failures.map((f) => f.error.message).join()).toContain(
        `holder ${holding === rootWay ? 'root' : 'agent'}`,
      );
      await holder.close();
    }
    expect((await deploy(containerHost('p1'), rootWay)).status).toBe('ok');
  });

  it('reports a stopped container clearly', async () => {
    asUser(`lxc-stop -P ${LXCPATH} -n p4 -k`);
    // su: the helper spawned; the hop alone: a copy forked from the run's perl.
    for (const via of [
      [su(TEST_USER), lxcHop({ name: 'p4', lxcpath: LXCPATH })],
      [lxcHop({ name: 'p4', owner: TEST_USER, lxcpath: LXCPATH })],
    ]) {
      const r = await deploy(containerHost('p4'), via);
      expect(r.status).toBe('unreachable');
      expect(r.failures[0]!.error.message).toMatch(/container p4 of consfig-tuser is not running \(STOPPED\)/);
    }
  });

  it('starts, stops and gates on a container, and autostarts it at boot', async () => {
    const p4 = containerHost('p4');
    const marker = '/var/lib/consfig-test/when-p4-runs';
    rmSync(marker, { force: true });
    const gated = defineHost('lxchost.example', [
      lxc.whenUserContainerRunning(p4, { owner: TEST_USER, lxcpath: LXCPATH }, file.hasContent(marker, 'yes')),
    ]);
    const shut = await deploy(gated, 'local');
    expect(existsSync(marker)).toBe(false); // p4 is stopped
    expect([shut.changed, shut.unchanged]).toEqual([0, 2]); // the gate and what it passed over
    // root's own session directory in the environment (as where root logged in with
    // pam_systemd) must not reach the owner's lxc-start
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'consfig-root-runtime-'));
    const started = await deploy(
      defineHost('lxchost.example', [lxc.userContainerStarted(p4, TEST_USER, LXCPATH)]),
      'local',
    ).finally(() => {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    });
    expect(started.failures.map((f) => f.error.message)).toEqual([]);
    expect(running('p4')).toBe(true);
    // consfig check shows what it would do while the container runs, and does nothing.
    const dry: DeployEvent[] = [];
    await deploy(gated, 'local', { dryRun: true, onEvent: (e) => dry.push(e) });
    const inner = dry.flatMap((e) =>
      e.type === 'property:end' && e.name === 'file.hasContent' ? [[e.status, e.changes]] : [],
    );
    expect(inner).toEqual([['changed', [{ path: marker, before: null, after: 'yes\n' }]]]);
    expect(existsSync(marker)).toBe(false);
    await deploy(gated, 'local');
    expect(existsSync(marker)).toBe(true);
    // Stopped while an agent that entered it is still open (its shell's finisher started by
    // a write after the switch): nothing of it keeps the container from stopping (a zombie
    // of its PID namespace left unreaped by a parent outside it would).
    const inside = await openConnection([lxcHop({ name: 'p4', owner: TEST_USER, lxcpath: LXCPATH })]);
    expect((await inside.readFile('/etc/motd')).toString()).toBe('this is p4\n');
    await inside.writeFile('/root/after-the-switch', 'through the finisher\n', { mode: '0600' });
    expect(sh(`cat ${LXCPATH}/p4/rootfs/root/after-the-switch`)).toBe('through the finisher\n');
    await deploy(defineHost('lxchost.example', [lxc.userContainerStopped(p4, TEST_USER, LXCPATH)]), 'local');
    expect(running('p4')).toBe(false);
    await inside.close();
    // autostart: the container says lxc.start.auto = 1; the boot hook starts it
    const auto = await deploy(
      defineHost('lxchost.example', [
        lxc.userContainerFor(options({ autostart: true, start: false }), p4),
        lxc.userContainersAutostart(TEST_USER, { lxcpath: LXCPATH }),
      ]),
      'local',
    );
    expect(auto.failures.map((f) => f.error.message)).toEqual([]);
    expect(sh(`cat ${LXCPATH}/p4/config`)).toContain('lxc.start.auto = 1');
    const cron = sh(`cat /etc/cron.d/consfig-lxc-autostart-${TEST_USER}`);
    expect(cron).toBe(`@reboot root /usr/local/libexec/consfig/lxc-autostart-${TEST_USER}\n`);
    sh(`/usr/local/libexec/consfig/lxc-autostart-${TEST_USER}`);
    expect(running('p4')).toBe(true);
  }, 120_000);

  it('a container on the bridge gets its veth, and teardown leaves no container, veth or cgroup', async () => {
    await deploy(defineHost('lxchost.example', [lxc.usernetUsableBy(TEST_USER, 'lxcbr0', 10)]), 'local');
    const v1 = containerHost('v1');
    const veth = options({
      additionalLines: [SLEEP_INIT, 'lxc.net.0.type = veth', 'lxc.net.0.flags = up', 'lxc.net.0.link = lxcbr0'],
    });
    const r = await deploy(defineHost('lxchost.example', [lxc.userContainerFor(veth, v1)]), 'local');
    expect(r.failures.map((f) => f.error.message)).toEqual([]);
    // its veth, on the bridge (other test files' containers have theirs too)
    const link = /Link:\s+(\S+)/.exec(asUser(`lxc-info -P ${LXCPATH} -n v1`))?.[1];
    expect(link).toMatch(/^veth\d+_\w+$/);
    expect(sh('ip -o link show master lxcbr0')).toContain(`${link}@`);
    const all = ['c1', 'p1', 'p2', 'p3', 'p4', 'v1'];
    const down = await deploy(
      defineHost(
        'lxchost.example',
        all.map((n) => unapply(lxc.userContainerFor(options(), containerHost(n)))),
      ),
      'local',
    );
    expect(down.failures.map((f) => f.error.message)).toEqual([]);
    expect(asUser(`lxc-ls -P ${LXCPATH}`).trim()).toBe('');
    expect(sh(`ip -o link show ${link} 2>/dev/null || true`).trim()).toBe('');
    const payloads = readdirSync('/sys/fs/cgroup').flatMap((h) => {
      const dir = `/sys/fs/cgroup/${h}/user/${TEST_USER}/0`;
      return existsSync(dir)
        ? readdirSync(dir).filter((n) => all.some((c) => n === `lxc.monitor.${c}` || n === `lxc.payload.${c}`))
        : [];
    });
    expect(payloads).toEqual([]);
  }, 600_000);
});

describe('userContainerFor, step by step', () => {
  const PATH2 = `/var/lib/consfig-test/lxc-steps-${TEST_USER}`;
  const opts = (extra: Record<string, unknown> = {}) => ({
    owner: TEST_USER,
    lxcpath: PATH2,
    additionalLines: [SLEEP_INIT, 'lxc.net.0.type = empty'],
    ...extra,
  });
  afterAll(() => removeAllContainers(TEST_USER, PATH2));

  it('redoes a build whose configuration failed, and shifts only a configured tree', async () => {
    let fail = true;
    let runs = 0;
    const flaky = defprop({
      name: 'test.flaky',
      desc: 'flaky',
      apply: async (ctx) => {
        runs++;
        if (fail) ctx.fail('injected failure');
        await ctx.writeFile('/etc/configured', 'yes\n');
      },
    });
    const f1 = containerHost('f1', [flaky()]);
    const parent = defineHost('lxchost.example', [lxc.userContainerFor(opts(), f1)], { via: 'local' });
    const first = await deploy(parent);
    expect(first.status).toBe('failed');
    expect(first.failures.map((f) => f.error.message)).toEqual([
      'nested deployment of f1.lxc.example failed: flaky: injected failure',
    ]);
    expect(sh(`stat -c %u ${PATH2}/f1/rootfs/etc/motd`).trim()).toBe('0'); // not shifted
    fail = false;
    const second = await deploy(parent);
    expect(second.failures.map((f) => f.error.message)).toEqual([]);
    expect(runs).toBe(2);
    expect(sh(`cat ${PATH2}/f1/rootfs/etc/configured`)).toBe('yes\n');
    expect(sh(`stat -c %u ${PATH2}/f1/rootfs/etc/configured`).trim()).toBe(
      String(defaultMapsFor(TEST_USER).uid[0]!.outside),
    );
    expect((await deploy(parent)).changed).toBe(0);
  }, 300_000);

  it('configures a container from inside whenever it runs, whoever started it', async () => {
    const w1 = containerHost('w1');
    const parent = defineHost('lxchost.example', [lxc.userContainerFor(opts({ start: false }), w1)], { via: 'local' });
    const events: DeployEvent[] = [];
    expect((await deploy(parent, undefined, { onEvent: (e) => events.push(e) })).failures).toEqual([]);
    expect(isRunning(TEST_USER, PATH2, 'w1')).toBe(false);
    expect(events.flatMap((e) => (e.type === 'property:end' ? e.notes : []))).toContain(
      'w1 is not running: it is configured from inside when it runs',
    );
    asUser(`lxc-start -P ${PATH2} -n w1`);
    try {
      sh(`printf drifted > ${PATH2}/w1/rootfs/etc/motd`);
      const again = await deploy(parent);
      expect(again.changed).toBe(1);
      expect(sh(`cat ${PATH2}/w1/rootfs/etc/motd`)).toBe('this is w1\n');
    } finally {
      asUser(`lxc-stop -P ${PATH2} -n w1 -k`);
    }
  }, 300_000);

  it("builds the tree through the container's apt mirror (else its host's)", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'consfig-mirror-cache-'));
    const m1 = defineHost('m1.lxc.example', [
      os.debianStable('bookworm', 'amd64'),
      apt.mirrors('http://127.0.0.1:9/debian'),
    ]);
    const r = await deploy(
      defineHost('lxchost.example', [lxc.userContainerFor(opts({ chrootOptions: { cacheDir } }), m1)], {
        via: 'local',
      }),
    );
    expect(r.failures[0]?.error.message).toMatch(
      /^building a bookworm tree with mmdebstrap from http:\/\/127\.0\.0\.1:9\/debian failed: /,
    );
    const m2 = containerHost('m2');
    const viaParent = await deploy(
      defineHost(
        'lxchost.example',
        [apt.mirrors('http://127.0.0.1:9/debian'), lxc.userContainerFor(opts({ chrootOptions: { cacheDir } }), m2)],
        { via: 'local' },
      ),
    );
    expect(viaParent.failures[0]?.error.message).toMatch(/127\.0\.0\.1:9/);
  }, 120_000);

  it('builds, shifts and starts a container on a container host reached over ssh', async () => {
    const s1 = containerHost('s1');
    const parent = defineHost('lxchost.example', [lxc.userContainerFor(opts({ start: true }), s1)], {
      via: [sshd.hop('root')],
    });
    const r = await deploy(parent);
    expect(r.failures.map((f) => f.error.message)).toEqual([]);
    expect(sh(`stat -c %u ${PATH2}/s1/rootfs/etc/motd`).trim()).toBe(String(defaultMapsFor(TEST_USER).uid[0]!.outside));
    expect(isRunning(TEST_USER, PATH2, 's1')).toBe(true);
    expect((await deploy(parent)).changed).toBe(0);
    expect((await deploy(parent, undefined, { dryRun: true })).changed).toBe(0);
    asUser(`lxc-stop -P ${PATH2} -n s1 -k`);
  }, 300_000);

  it('adds what the container host adds, grants explicit maps, and refuses a tree without an init', async () => {
    const extra = file.hasContent('/etc/added-by-the-host', 'yes');
    const a1 = containerHost('a1');
    const maps = ['0:400000:65536'];
    const parent = defineHost(
      'lxchost.example',
      [lxc.userContainerFor(opts({ start: true, additionalProperties: [extra], uidMaps: maps, gidMaps: maps }), a1)],
      { via: 'local' },
    );
    try {
      const r = await deploy(parent);
      expect(r.failures.map((f) => f.error.message)).toEqual([]);
      expect(sh(`cat ${PATH2}/a1/rootfs/etc/added-by-the-host`)).toBe('yes\n');
      expect(sh('cat /etc/subuid /etc/subgid')).toMatch(
        new RegExp(`^${TEST_USER}:400000:65536$[\\s\\S]*^${TEST_USER}:400000:65536$`, 'm'),
      );
      expect(isRunning(TEST_USER, PATH2, 'a1')).toBe(true);
      expect(sh(`stat -c %u ${PATH2}/a1/rootfs/etc/motd`).trim()).toBe('400000');
      expect((await deploy(parent)).changed).toBe(0);
    } finally {
      asUser(`lxc-stop -P ${PATH2} -n a1 -k 2>/dev/null || true`);
      sh(`sed -i '/^${TEST_USER}:400000:65536$/d' /etc/subuid /etc/subgid`);
    }
    const noInit = await deploy(
      defineHost(
        'lxchost.example',
        [lxc.userContainerFor({ owner: TEST_USER, lxcpath: PATH2, start: true }, containerHost('n1'))],
        { via: 'local' },
      ),
    );
    expect(noInit.failures.map((f) => f.error.message)).toEqual([
      "n1's tree has no /sbin/init, so the container cannot start: give n1.lxc.example an init " +
        "(apt.installed('systemd-sysv'), or 'sysvinit-core'), or name one in additionalLines ('lxc.init.cmd = …')",
    ]);
  }, 300_000);
});
