// The seed's chain: the laptop builds lxctest's tree (lxc1's built and shifted inside)
// and boots it with libvirt; lxc1 starts at boot. Printed: the first deploy (built once,
// then kept), the time from the domain started to ssh into the guest, and a no-change
// re-deploy of the laptop with the VM running.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestSsh, startLibvirtd } from '../scripts/lib/lab-vm.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../packages/cli/dist/bin.js');
const lab = join(here, '../examples/seed-lab/consfig.ts');
const work = '/var/lib/consfig-bench/seed';
const key = `${work}/key`;
const port = 22229;
// Read when the bench runs: run.mjs may have left a variable out of process.env by then.
const seedEnv = () => ({
  ...process.env,
  NO_COLOR: '1',
  SEED_LAB_IMAGES: `${work}/images`,
  SEED_LAB_SSH_KEY: key,
  SEED_LAB_SSH_PORT: String(port),
});

function deployLaptop() {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'deploy', '--reporter', 'plain', '-c', lab, 'laptop.example'], {
    env: seedEnv(),
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`seed deploy failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, out: r.stdout };
}

function sshWorks() {
  const [command, ...args] = guestSsh(key, port, 'true');
  return spawnSync(command, args).status === 0;
}

export function benchSeed(runs) {
  startLibvirtd();
  mkdirSync(work, { recursive: true });
  if (!existsSync(key)) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    chmodSync(`${key}.pub`, 0o644);
  }
  const wasRunning =
    spawnSync('virsh', ['-c', 'qemu:///system', 'domstate', 'lxctest.example'], { encoding: 'utf8' }).stdout.trim() ===
    'running';
  const build = deployLaptop();
  const rows = [
    {
      bench: 'laptop first deploy (builds both trees and boots the VM, when they are not there yet)',
      value: `${(build.ms / 1000).toFixed(1)} s`,
      target: '',
    },
  ];
  if (!wasRunning) {
    const started = Date.now();
    while (!sshWorks() && Date.now() - started < 600_000) execFileSync('sleep', ['2']);
    const accel = /accel (\w+)/.exec(build.out)?.[1] ?? '?';
    rows.push({
      bench: `first boot: domain started → ssh into the guest (${accel})`,
      value: `${((Date.now() - started) / 1000).toFixed(0)} s`,
      target: '',
    });
  }
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { ms, out } = deployLaptop();
    if (!/\n {2}0 changed/.test(out)) throw new Error(`the re-deploy changed something:\n${out}`);
    times.push(ms);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  rows.push({
    bench: 'laptop no-change re-deploy, VM running (whole CLI)',
    value: `${(median / 1000).toFixed(2)} s`,
    target: '< 1 s',
  });
  return rows;
}
