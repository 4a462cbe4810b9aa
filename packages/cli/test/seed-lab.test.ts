/**
 * The seed's lab (examples/seed-lab), deployed as its users would: this machine playing
 * lxctest, as root; and the whole chain, an ordinary user deploying the laptop through
 * sudo with the password typed at a terminal, which builds a bullseye lxctest tree that
 * holds a bullseye lxc1 tree shifted for a user of lxctest.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, openConnection, unapply } from '@consfig/core';
import { lxc } from '@consfig/connections';
import { file, libvirt, lxc as lxcProps, os } from '@consfig/properties';
import { seedLab } from '../../../examples/seed-lab/lab.js';
import {
  ensureBridge,
  ensureUsers,
  PASSWORD,
  PASSWORD_USER,
  processTable,
  TEST_USER,
} from '../../connections/test/support/machine.js';
import { removeAllContainers } from '../../properties/test/support/lxc.js';
// @ts-expect-error: plain JavaScript shared with the benchmarks
import { guestSsh, startLibvirtd, stopLibvirtd } from '../../../scripts/lib/lab-vm.mjs';
import { freePort } from '../../../scripts/lib/sshd.mjs';
import { BIN, onTerminal, until } from './support/cli.js';

const SEED_LAB = fileURLToPath(new URL('../../../examples/seed-lab/consfig.ts', import.meta.url));
const CHAIN = fileURLToPath(new URL('./fixtures/seed-chain.ts', import.meta.url));
const LXCPATH = `/var/lib/consfig-test/lxc-seed-${TEST_USER}`;
const IMAGES = '/var/lib/consfig-test/seed-chain/images';

const LAB_ENV = { SEED_LAB_OWNER: TEST_USER, SEED_LAB_LXCPATH: LXCPATH };

function consfig(
  args: string[],
  env: Record<string, string> = LAB_ENV,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** consfig as the ordinary user whose sudo wants a password, on a terminal (script(1)); types it when asked. */
async function asUserOnTerminal(
  args: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const { child, out: all, done } = onTerminal(PASSWORD_USER, args, env);
  let typed = 0;
  const onData = () => {
    if (typed === 0 && all.text.includes(`[sudo] password for ${PASSWORD_USER}: `)) {
      typed++;
      child.stdin.write(`${PASSWORD}\r`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await done;
  const out = all.text;
  expect(typed, out).toBe(1);
  expect(out).not.toContain(PASSWORD);
  return { code, out };
}

beforeAll(() => {
  ensureUsers();
  ensureBridge();
  // lxc1's veth hook asks the routing image through userv, whose daemon nothing else starts here
  execFileSync('sh', [
    '-c',
    'pgrep -x uservd >/dev/null || { mkdir -p -m 700 /var/run/userv; /usr/sbin/uservd -daemon; }',
  ]);
});
afterAll(() => {
  removeAllContainers(TEST_USER, LXCPATH);
  rmSync(IMAGES, { recursive: true, force: true });
});

describe('this machine as lxctest', () => {
  it('lists lxctest with lxc1 in its hostattrs, with what lxc1 declares, both nested in the laptop', async () => {
    const r = await consfig(['hosts', '--json', '-c', SEED_LAB]);
    const hosts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { host: string; chain: string; hostattrs: Record<string, unknown[]> });
    const lxctest = hosts.find((h) => h.host === 'lxctest.example')!;
    expect(lxctest.chain).toBe('nested in laptop.example');
    expect(lxctest.hostattrs['lxc.containers']).toEqual([
      { name: 'lxc1', owner: TEST_USER, host: { host: 'lxc1.example' } },
    ]);
    expect(hosts.find((h) => h.host === 'lxc1.example')!.hostattrs['veth.routes']).toEqual([
      { user: TEST_USER, address: '10.0.3.10' },
    ]);
  });

  it('deploys it: lxc1 boots systemd, with apache inside, on the bridge; then nothing is pending', async () => {
    const r = await consfig(['deploy', '--via', 'local', '-c', SEED_LAB, 'lxctest.example']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // the nested hosts are shown under the steps that deployed them
    expect(r.stdout).toMatch(/✔ lxctest\.example \(local\)[\s\S]* {8}✔ lxc1\.example \(chroot:.*\/lxc1\/rootfs\)/);
    const conn = await openConnection([lxc({ name: 'lxc1', owner: TEST_USER, lxcpath: LXCPATH })]);
    expect((await conn.run(['dpkg-query', '-W', '-f', '${Status}', 'apache2'])).stdout.toString()).toBe(
      'install ok installed',
    );
    expect((await conn.run(['cat', '/proc/1/comm'])).stdout.toString()).toBe('systemd\n');
    expect((await conn.run(['sh', '-c', '. /etc/os-release; echo $VERSION_CODENAME'])).stdout.toString()).toBe(
      'bullseye\n',
    );
    expect((await conn.readFile('/var/www/html/index.html')).toString()).toMatch(/configured by consfig/);
    expect((await conn.readFile('/proc/net/fib_trie')).toString()).toContain('10.0.3.10');
    await conn.close();
    // the seed's hook routed lxc1's address to its veth, through userv, as root
    expect(execFileSync('ip', ['route', 'show', '10.0.3.10'], { encoding: 'utf8' })).toMatch(
      /^10\.0\.3\.10 dev veth\d+_\w+ scope link/,
    );
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

describe("the seed's chain, as an ordinary user: laptop → lxctest's VM → lxc1", () => {
  let port: number;
  let startedLibvirt = false;
  const KEY = '/var/lib/consfig-test/seed-chain/key';
  const virsh = (...args: string[]) => spawnSync('virsh', ['-c', 'qemu:///system', ...args], { encoding: 'utf8' });
  const inGuest = (command: string) => {
    const [ssh, ...args] = guestSsh(KEY, port, command, 10);
    return spawnSync(ssh!, args, { encoding: 'utf8' });
  };

  beforeAll(async () => {
    port = await freePort();
    // libvirt's daemons, started by hand (no systemd here), and stopped after
    startedLibvirt = startLibvirtd();
    rmSync('/var/lib/consfig-test/seed-chain', { recursive: true, force: true });
    mkdirSync('/var/lib/consfig-test/seed-chain', { recursive: true, mode: 0o755 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', KEY]);
    chmodSync(`${KEY}.pub`, 0o644);
  }, 120_000);
  afterAll(() => {
    spawnSync('sh', [
      '-c',
      'virsh -c qemu:///system destroy lxctest.example; virsh -c qemu:///system undefine lxctest.example',
    ]);
    if (startedLibvirt) stopLibvirtd();
  });

  it('builds lxctest, lxc1 inside, through sudo; redoes what failed, boots, reaches lxc1; nothing pends', async () => {
    const env = { SEED_LAB_IMAGES: IMAGES, SEED_LAB_SSH_KEY: KEY, SEED_LAB_SSH_PORT: String(port) };
    // lxc1's configuration fails the first time: nothing is defined, nothing boots
    const first = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, {
      ...env,
      CONSFIG_TEST_FAIL_LXC1: '1',
    });
    expect(first.code, first.out).toBe(2);
    expect(first.out).toMatch(/failed +Command false/);
    const lxc1 = `${IMAGES}/lxctest/home/lxcowner/.local/share/lxc/lxc1`;
    const owner = (path: string) =>
      execFileSync('stat', ['-c', '%u', `${lxc1}/rootfs${path}`], { encoding: 'utf8' }).trim();
    expect(owner('/etc/motd')).toBe('0'); // built, not shifted
    expect(existsSync(`${lxc1}/.consfig-built`)).toBe(false);
    expect(virsh('dominfo', 'lxctest.example').status).not.toBe(0);

    const second = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/accel (tcg|kvm): .*; root over virtiofs/);
    const xml = virsh('dumpxml', 'lxctest.example').stdout;
    expect(xml).toMatch(/<domain type='(qemu|kvm)'/);
    expect(xml).toMatch(/<driver type='virtiofs'/);
    const subuid = execFileSync('grep', ['^lxcowner:', `${IMAGES}/lxctest/etc/subuid`], { encoding: 'utf8' }).split(
      ':',
    )[1]!;
    expect(owner('/etc/motd')).toBe(subuid);
    const inLxc1 = (...argv: string[]) => execFileSync('chroot', [`${lxc1}/rootfs`, ...argv], { encoding: 'utf8' });
    expect(inLxc1('dpkg-query', '-W', '-f', '${Status} ', 'apache2', 'systemd-sysv')).toBe(
      'install ok installed install ok installed ',
    );
    expect(inLxc1('sh', '-c', '. /etc/os-release; echo $VERSION_CODENAME')).toBe('bullseye\n');

    // the guest boots (systemd, under TCG here: about a minute), and lxc1 starts at boot
    // through its owner's systemd instance; its veth hook routes its address
    const serial = `/var/log/libvirt/qemu/lxctest.example-serial.log`;
    expect(
      await until(() => existsSync(serial) && readFileSync(serial, 'utf8').includes('lxctest login:'), 300_000, 1000),
    ).toBe(true);
    const lxc1Running = () =>
      /RUNNING/.test(inGuest('runuser -u lxcowner -- env -u XDG_RUNTIME_DIR lxc-info -n lxc1 -s').stdout);
    expect(await until(lxc1Running, 180_000, 2000)).toBe(true);
    expect(inGuest('systemctl is-system-running; ip route show 10.0.3.10').stdout).toMatch(
      /^(running|degraded)\n10\.0\.3\.10 dev veth\d+_\w+ scope link/,
    );

    // lxc1 through the chain: laptop (sudo) → ssh into the VM → lxc
    const direct = await asUserOnTerminal(`deploy -K -c ${CHAIN} lxc1.example`, env);
    expect(direct.code, direct.out).toBe(0);
    expect(direct.out).toMatch(
      /lxc1\.example \(sudo → ssh:root@127\.0\.0\.1:\d+ → lxc:lxc1@lxcowner\)[\s\S]*0 changed, \d+ unchanged, 0 failed/,
    );

    const third = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(third.code, third.out).toBe(0);
    expect(third.out).toMatch(/laptop\.example[\s\S]*\n {2}0 changed, \d+ unchanged, 0 failed/);
    const check = await asUserOnTerminal(`check -K --exit-code -c ${CHAIN}`, env);
    expect(check.code, check.out).toBe(0);
    expect(check.out).not.toMatch(/would fix/);

    // a domain removed behind consfig's back: check names exactly its steps, nothing else
    virsh('destroy', 'lxctest.example');
    virsh('undefine', 'lxctest.example');
    const gone = await asUserOnTerminal(`check -K --exit-code -c ${CHAIN} laptop.example`, env);
    expect(gone.code, gone.out).toBe(3);
    const pending = gone.out
      .split('\n')
      .filter((l) => /would fix/.test(l))
      .map((l) => l.replace(/^.*would fix\s+/, '').trim());
    expect(pending.filter((l) => !/^lxctest\.example boots as a VM from /.test(l))).toEqual([
      'domain lxctest.example defined',
      'domain lxctest.example as configured',
      'domain lxctest.example running',
    ]);
    const back = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(back.code, back.out).toBe(0);
    expect(virsh('domstate', 'lxctest.example').stdout.trim()).toBe('running');
  }, 1_800_000);

  it('refuses a guest named as its hypervisor, a tree without a kernel, a domain that cannot start', async () => {
    const { lxctest } = seedLab({ owner: 'lxcowner', images: IMAGES, suite: 'bullseye' });
    const same = await deploy(
      defineHost('lxctest.example', [libvirt.kvmBootsChrootFor({}, lxctest)], { via: 'local' }),
    );
    expect(same.failures[0]?.error.message).toBe("a guest cannot have its hypervisor's name (lxctest.example)");
    const guest = defineHost('other.example', [os.debianStable('bullseye', 'amd64')]);
    const root = `${IMAGES}/lxctest`; // a tree already built and bootable
    const noKernel = await deploy(
      defineHost(
        'hv.example',
        [
          os.debianStable('bookworm', 'amd64'),
          libvirt.kvmBootsChrootFor({ root, kernel: 'boot/no-such-kernel', alwaysDeploys: true }, guest),
        ],
        { via: 'local' },
      ),
    );
    expect(noKernel.failures[0]?.error.message).toMatch(
      /\/boot\/no-such-kernel is missing: other\.example's tree has no kernel to boot/,
    );
    expect(virsh('dominfo', 'other.example').status).not.toBe(0);
    const tooBig = await deploy(
      defineHost(
        'hv.example',
        [
          os.debianStable('bookworm', 'amd64'),
          libvirt.kvmBootsChrootFor(
            { root, memory: 64 * 1024 * 1024, autostart: true, alwaysDeploys: true, network: { type: 'none' } },
            guest,
          ),
        ],
        { via: 'local' },
      ),
    );
    expect(tooBig.failures[0]?.error.message).toMatch(
      /^domain other\.example did not start \(and is undefined again\): /,
    );
    expect(virsh('dominfo', 'other.example').status).not.toBe(0);
  }, 600_000);

  it("the domain's own steps: stopped, started, properties only while it runs; libvirt's default network", async () => {
    const { lxctest } = seedLab({ owner: 'lxcowner', images: IMAGES, suite: 'bullseye', sshPort: port });
    const hv = (...props: Parameters<typeof defineHost>[1]) =>
      defineHost('hv.example', [os.debianStable('bookworm', 'amd64'), ...props], { via: 'local' });
    const twice = async (...props: Parameters<typeof defineHost>[1]) => {
      const first = await deploy(hv(...props));
      expect(first.failures.map((f) => f.error.message)).toEqual([]);
      expect((await deploy(hv(...props))).changed).toBe(0);
      return first.changed;
    };
    const marker = (name: string) => `/run/consfig-test-${name}`;
    rmSync(marker('up'), { force: true });
    rmSync(marker('down'), { force: true });
    expect(virsh('domstate', 'lxctest.example').stdout.trim()).toBe('running');
    expect(await twice(libvirt.whenStarted(lxctest, file.hasContent(marker('up'), 'up')))).toBeGreaterThan(0);
    expect(readFileSync(marker('up'), 'utf8')).toBe('up\n');

    expect(await twice(libvirt.destroyed(lxctest))).toBe(1);
    expect(virsh('domstate', 'lxctest.example').stdout.trim()).toBe('shut off');
    expect(await twice(libvirt.whenStarted(lxctest, file.hasContent(marker('down'), 'down')))).toBe(0);
    expect(existsSync(marker('down'))).toBe(false);

    expect(await twice(libvirt.started(lxctest))).toBe(1);
    expect(virsh('domstate', 'lxctest.example').stdout.trim()).toBe('running');

    // NAT on virbr0 (192.168.122.1): only the bridge and dnsmasq on it, taken down after
    try {
      expect((await deploy(hv(libvirt.defaultNetworkStarted()), 'local', { dryRun: true })).changed).toBe(1);
      expect(await twice(libvirt.defaultNetworkStarted())).toBe(1);
      expect(virsh('net-info', 'default').stdout).toMatch(/^Active:\s+yes$/m);
    } finally {
      virsh('net-destroy', 'default');
    }
  }, 300_000);

  it('boots the same tree from a raw ext4 image made of it, where asked (the fallback without virtiofs)', async () => {
    const env = {
      SEED_LAB_IMAGES: IMAGES,
      SEED_LAB_SSH_KEY: KEY,
      SEED_LAB_SSH_PORT: String(port),
      SEED_LAB_ROOTFS: 'image',
    };
    const image = `${IMAGES}/lxctest.ext4`;
    const pending = await asUserOnTerminal(`check -K --exit-code -c ${CHAIN} laptop.example`, env);
    expect(pending.code, pending.out).toBe(3);
    expect(pending.out).toContain(`${image}: absent → made from the tree`);
    const made = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(made.code, made.out).toBe(0);
    expect(made.out).toMatch(/accel (tcg|kvm): .*; root from a raw ext4 image made from the tree \(as asked\)/);
    expect(virsh('dumpxml', '--inactive', 'lxctest.example').stdout).toContain(`<source file='${image}'/>`);
    // it takes effect at the next start: the deploy starts the domain again (autostart)
    virsh('destroy', 'lxctest.example');
    const booted = await asUserOnTerminal(`deploy -K -c ${CHAIN} laptop.example`, env);
    expect(booted.code, booted.out).toBe(0);
    const serial = `/var/log/libvirt/qemu/lxctest.example-serial.log`;
    expect(
      await until(() => existsSync(serial) && readFileSync(serial, 'utf8').includes('lxctest login:'), 300_000, 1000),
    ).toBe(true);
    expect(await until(() => inGuest('true').status === 0, 60_000, 1000)).toBe(true);
    expect(inGuest('findmnt -no SOURCE,FSTYPE /').stdout.trim()).toBe('/dev/vda ext4');
    const lxc1Running = () =>
      /RUNNING/.test(inGuest('runuser -u lxcowner -- env -u XDG_RUNTIME_DIR lxc-info -n lxc1 -s').stdout);
    expect(await until(lxc1Running, 180_000, 2000)).toBe(true);
    const check = await asUserOnTerminal(`check -K --exit-code -c ${CHAIN} laptop.example`, env);
    expect(check.code, check.out).toBe(0);
  }, 1_200_000);

  it('unapplied: the domain, its tree and every process of it gone', async () => {
    const { lxctest } = seedLab({ owner: 'lxcowner', images: IMAGES, suite: 'bullseye', sshPort: port });
    const down = await deploy(
      defineHost(
        'laptop.example',
        [
          os.debianStable('bookworm', 'amd64'),
          unapply(
            libvirt.kvmBootsChrootFor(
              {
                alwaysDeploys: true,
                autostart: true,
                root: `${IMAGES}/lxctest`,
                network: { type: 'user', sshPort: port },
              },
              lxctest,
            ),
          ),
        ],
        { via: 'local' },
      ),
    );
    expect(down.failures.map((f) => f.error.message)).toEqual([]);
    expect(virsh('dominfo', 'lxctest.example').status).not.toBe(0);
    expect(existsSync(`${IMAGES}/lxctest`)).toBe(false);
    expect(existsSync(`${IMAGES}/lxctest.ext4`)).toBe(false);
    expect(
      await until(() => !processTable().some((l) => l.includes('qemu-system') || l.includes('virtiofsd')), 20_000),
    ).toBe(true);
  }, 300_000);
});
