/**
 * The seed's lab (examples/seed-lab), deployed as its users would: this machine playing
 * lxctest, as root; and the whole chain, an ordinary user deploying the laptop through
 * sudo with the password typed at a terminal, which builds a bullseye lxctest tree that
 * holds a bullseye lxc1 tree shifted for a user of lxctest.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '@consfig/core';
import { lxc } from '@consfig/connections';
import { lxc as lxcProps } from '@consfig/properties';
import { ensureBridge, ensureUsers, PASSWORD, PASSWORD_USER, TEST_USER } from '../../connections/test/support/machine.js';
import { removeAllContainers } from '../../properties/test/support/lxc.js';
import { BIN } from './support/cli.js';

const SEED_LAB = fileURLToPath(new URL('../../../examples/seed-lab/consfig.ts', import.meta.url));
const CHAIN = fileURLToPath(new URL('./fixtures/seed-chain.ts', import.meta.url));
const LXCPATH = `/var/lib/consfig-test/lxc-seed-${TEST_USER}`;
const IMAGES = '/var/lib/consfig-test/seed-chain/images';
const LAB_ENV = { SEED_LAB_OWNER: TEST_USER, SEED_LAB_LXCPATH: LXCPATH };

function consfig(args: string[], env: Record<string, string> = LAB_ENV): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** consfig as the ordinary user whose sudo wants a password, on a terminal (script(1)); types it when asked. */
async function asUserOnTerminal(args: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const vars = Object.entries({ ...env, NO_COLOR: '1' }).map(([k, v]) => `${k}=${v}`).join(' ');
  const command = `cd /tmp && env ${vars} ${process.execPath} ${BIN} ${args}`;
  const child = spawn('su', [PASSWORD_USER, '-s', '/bin/sh', '-c', `script -qfec ${JSON.stringify(command)} /dev/null`]);
  let out = '';
  let typed = 0;
  const onData = (d: Buffer) => {
    out += d.toString();
    if (typed === 0 && out.includes(`[sudo] password for ${PASSWORD_USER}: `)) {
      typed++;
      child.stdin.write(`${PASSWORD}\r`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(typed, out).toBe(1);
  expect(out).not.toContain(PASSWORD);
  return { code, out };
}

beforeAll(() => {
  ensureUsers();
  ensureBridge();
  // lxc1's veth hook asks the routing image through userv, whose daemon nothing else starts here
  execFileSync('sh', ['-c', 'pgrep -x uservd >/dev/null || { mkdir -p -m 700 /var/run/userv; /usr/sbin/uservd -daemon; }']);
});
afterAll(() => {
  removeAllContainers(TEST_USER, LXCPATH);
  rmSync(IMAGES, { recursive: true, force: true });
});

describe('this machine as lxctest', () => {
  it('lists lxctest with lxc1 in its hostattrs, with what lxc1 declares, both nested in the laptop', async () => {
    const r = await consfig(['hosts', '--json', '-c', SEED_LAB]);
    const hosts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { host: string; chain: string; hostattrs: Record<string, unknown[]> });
    const lxctest = hosts.find((h) => h.host === 'lxctest.example')!;
    expect(lxctest.chain).toBe('nested in laptop.example');
    expect(lxctest.hostattrs['lxc.containers']).toEqual([{ name: 'lxc1', owner: TEST_USER, host: { host: 'lxc1.example' } }]);
    expect(hosts.find((h) => h.host === 'lxc1.example')!.hostattrs['veth.routes']).toEqual([{ user: TEST_USER, address: '10.0.3.10' }]);
  });

  it('deploys it: lxc1 boots systemd, with apache inside, on the bridge; then nothing is pending', async () => {
    const r = await consfig(['deploy', '--via', 'local', '-c', SEED_LAB, 'lxctest.example']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // the nested hosts are shown under the steps that deployed them
    expect(r.stdout).toMatch(/✔ lxctest\.example \(local\)[\s\S]* {8}✔ lxc1\.example \(chroot:.*\/lxc1\/rootfs\)/);
    const conn = await openConnection([lxc({ name: 'lxc1', owner: TEST_USER, lxcpath: LXCPATH })]);
    expect((await conn.run(['dpkg-query', '-W', '-f', '${Status}', 'apache2'])).stdout.toString()).toBe('install ok installed');
    expect((await conn.run(['cat', '/proc/1/comm'])).stdout.toString()).toBe('systemd\n');
    expect((await conn.run(['sh', '-c', '. /etc/os-release; echo $VERSION_CODENAME'])).stdout.toString()).toBe('bullseye\n');
    expect((await conn.readFile('/var/www/html/index.html')).toString()).toMatch(/configured by consfig/);
    expect((await conn.readFile('/proc/net/fib_trie')).toString()).toContain('10.0.3.10');
    await conn.close();
    // the seed's hook routed lxc1's address to its veth, through userv, as root
    expect(execFileSync('ip', ['route', 'show', '10.0.3.10'], { encoding: 'utf8' })).toMatch(/^10\.0\.3\.10 dev veth\d+_\w+ scope link/);
    const again = await consfig(['deploy', '--via', 'local', '-c', SEED_LAB, 'lxctest.example']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/lxctest\.example[\s\S]*0 changed/);
    // check mode agrees, having looked inside the running container too
    const check = await consfig(['check', '--exit-code', '--via', 'local', '-c', SEED_LAB, 'lxctest.example']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).not.toMatch(/would fix/);
    expect(lxcProps.containerName({ name: 'lxc1.example' })).toBe('lxc1');
  }, 900_000);
});

describe("the seed's chain, as an ordinary user", () => {
  it('builds lxctest, with lxc1 shifted inside it, through sudo; redoes what failed; then nothing is pending', async () => {
    rmSync(IMAGES, { recursive: true, force: true });
    const env = { SEED_LAB_IMAGES: IMAGES };
    // lxc1's configuration fails the first time
    const first = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, { ...env, CONSFIG_TEST_FAIL_LXC1: '1' });
    expect(first.code, first.out).toBe(2);
    expect(first.out).toMatch(/failed +Command false/);
    const lxc1 = `${IMAGES}/lxctest/home/lxcowner/.local/share/lxc/lxc1`;
    const owner = (path: string) => execFileSync('stat', ['-c', '%u', `${lxc1}/rootfs${path}`], { encoding: 'utf8' }).trim();
    expect(owner('/etc/motd')).toBe('0'); // built, not shifted
    expect(existsSync(`${lxc1}/.consfig-built`)).toBe(false);

    const second = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(second.code, second.out).toBe(0);
    const subuid = execFileSync('grep', ['^lxcowner:', `${IMAGES}/lxctest/etc/subuid`], { encoding: 'utf8' }).split(':')[1]!;
    expect(owner('/etc/motd')).toBe(subuid);
    expect(owner('/usr/sbin/apache2')).toBe(subuid);
    const inLxc1 = (...argv: string[]) => execFileSync('chroot', [`${lxc1}/rootfs`, ...argv], { encoding: 'utf8' });
    expect(inLxc1('dpkg-query', '-W', '-f', '${Status} ', 'apache2', 'systemd-sysv')).toBe('install ok installed install ok installed ');
    expect(inLxc1('sh', '-c', '. /etc/os-release; echo $VERSION_CODENAME')).toBe('bullseye\n');
    expect(execFileSync('cat', [`${lxc1}/config`], { encoding: 'utf8' })).toMatch(/lxc\.idmap = u 0 \d+ 65536[\s\S]*lxc\.signal\.halt = SIGRTMIN\+3/);

    const third = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(third.code, third.out).toBe(0);
    expect(third.out).toMatch(/laptop\.example[\s\S]*0 changed, \d+ unchanged, 0 failed/);
    const check = await asUserOnTerminal(`check -K --exit-code -c ${CHAIN} laptop.example`, env);
    expect(check.code, check.out).toBe(0);
    expect(check.out).not.toMatch(/would fix/);
  }, 1_200_000);
});
