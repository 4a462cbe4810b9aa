#!/usr/bin/env node
// consfig benchmarks: wall time of whole `consfig deploy` processes. Prints a table;
// the targets are in the issue tracker and docs/benchmarks.md, not asserted here.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd } from '../scripts/lib/sshd.mjs';
import { benchChroots } from './chroots.mjs';
import { benchLxc } from './lxc.mjs';
import { benchLxcScale } from './lxc-scale.mjs';
import { benchRootfs } from './rootfs.mjs';
import { benchSeed } from './seed.mjs';
import { benchVeth } from './veth.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../packages/cli/dist/bin.js');
const work = join(here, '.tmp');
/** An account whose login shell is sh (the tests' user). */
const USER = 'consfig-tuser';
const runs = Number(process.env.BENCH_RUNS ?? 5);
// BENCH_ONLY=files,chroots,rootfs,lxc,lxc50,seed,veth runs only those parts.
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (part) => only === undefined || only.includes(part);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeDeploy(config, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'deploy', '--reporter', 'plain', '-c', config], {
    env: { ...process.env, NO_COLOR: '1', ...extraEnv },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`deploy failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, out: r.stdout };
}

function fileConfig(n, target, via = "'local'") {
  return `import { defineConsfig, defineHost } from '@consfig/core';
import { ssh } from '@consfig/connections';
import { file } from '@consfig/properties';
const props = Array.from({ length: ${n} }, (_, i) => file.hasContent(\`${target}/f\${i}\`, \`file \${i}\\n\`));
export default defineConsfig({ hosts: [defineHost('bench.local', props, { via: ${via} })] });
`;
}

/** ssh to the loopback sshd with the bench's own key; no user config. */
function sshVia(sshd, user, extra = {}) {
  return `ssh(${JSON.stringify({ ...sshd.target(user), ...extra })})`;
}

/** A directory of the bench's that `owner` may write in (deploys that log in as that user). */
function dirOf(owner) {
  const dir = join(work, `as-${owner}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('chown', [owner, dir]);
  return dir;
}

export function benchFiles(label, sizes, via, env = {}, owner = undefined) {
  const rows = [];
  for (const n of sizes) {
    const target = join(owner ? dirOf(owner) : work, `files-${label.replace(/\W+/g, '-')}-${n}`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const config = join(work, `files-${label.replace(/\W+/g, '-')}-${n}.ts`);
    writeFileSync(config, fileConfig(n, target, via));
    timeDeploy(config, env); // compile the config into the cache; not what we measure
    const firsts = [];
    for (let i = 0; i < Math.max(1, Math.min(runs, 3)); i++) {
      rmSync(target, { recursive: true, force: true });
      firsts.push(timeDeploy(config, env).ms);
    }
    const again = [];
    for (let i = 0; i < runs; i++) {
      const { ms, out } = timeDeploy(config, env);
      if (!out.includes(`0 changed, ${n} unchanged`)) throw new Error(`re-deploy changed something:\n${out}`);
      again.push(ms);
    }
    rows.push({
      bench: `file.hasContent, ${label}`,
      n,
      'first deploy (ms)': median(firsts).toFixed(0),
      'no-change re-deploy (ms)': median(again).toFixed(0),
    });
  }
  return rows;
}

/** Median wall time of a whole process: node's own start-up is the yardstick of this machine's speed now. */
function startup(args, env = process.env) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    spawnSync(process.execPath, args, { env });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times).toFixed(0);
}

console.log(`consfig benchmarks (median of ${runs} runs; whole CLI process wall time; node ${process.version})`);
// Node reads and parses every certificate NODE_EXTRA_CA_CERTS names before running any
// code (~35 ms with Debian's bundle here). That is the environment's cost, not consfig's:
// the benchmarks run without it unless BENCH_KEEP_ENV=1, and print what it costs.
const extraCerts = process.env.NODE_EXTRA_CA_CERTS;
if (extraCerts !== undefined && process.env.BENCH_KEEP_ENV !== '1') {
  const withCerts = startup(['-e', '']);
  delete process.env.NODE_EXTRA_CA_CERTS;
  console.log(
    `NODE_EXTRA_CA_CERTS=${extraCerts} left out (node -e '' takes ${withCerts} ms with it, ` +
      `${startup(['-e', ''])} ms without; BENCH_KEEP_ENV=1 keeps it)`,
  );
}
/** What one process costs here (a small shell's fork and exec of /bin/true): what chains pay per hop. */
function execCost() {
  const started = process.hrtime.bigint();
  spawnSync('sh', ['-c', 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done']);
  return (Number(process.hrtime.bigint() - started) / 1e6 / 100).toFixed(1);
}
const yardstick =
  `node -e '' ${startup(['-e', ''])} ms; consfig --version ${startup([bin, '--version'])} ms; ` +
  `a process (fork and exec of /bin/true) ${execCost()} ms`;
console.log(`start-up on this machine now (figures scale with it): ${yardstick}`);
if (wanted('files')) {
  const rows = [...benchFiles('local', [20, 200, 2000])];
  spawnSync('sh', ['-c', `id ${USER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${USER}`]);
  const sshd = await startSshd(['root', USER]);
  try {
    rows.push(...benchFiles('ssh root@127.0.0.1', [200], sshVia(sshd, 'root')));
    // Shared masters go in a directory of the bench's own, closed after it.
    const runtime = join(work, 'runtime');
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const persist = sshVia(sshd, 'root', { persist: 60 });
    rows.push(...benchFiles('ssh root@127.0.0.1, master kept (persist)', [200], persist, { XDG_RUNTIME_DIR: runtime }));
    // root's ~/.bashrc here runs pyenv's init on every ssh session (bash reads it when
    // sshd starts it): the same with a login shell of sh shows what is consfig's own.
    const plain = sshVia(sshd, USER, { persist: 60 });
    const label = `ssh ${USER}@127.0.0.1 (login shell sh), master kept`;
    rows.push(...benchFiles(label, [200], plain, { XDG_RUNTIME_DIR: runtime }, USER));
  } finally {
    const masters = join(work, 'runtime', 'consfig-ssh');
    for (const socket of existsSync(masters) ? readdirSync(masters) : []) {
      spawnSync('ssh', ['-o', `ControlPath=${join(masters, socket)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
    }
    await sshd.stop();
  }
  console.table(rows);
}
if (wanted('chroots')) {
  console.log('chroots (the CLI deploying 4 chroot hosts at once)');
  console.table(await benchChroots(runs));
}
if (wanted('rootfs')) {
  console.log('root filesystems (library calls on the local connection)');
  console.table(await benchRootfs({ firstBuild: process.env.BENCH_SKIP_FIRST_BUILD !== '1' }));
}
if (wanted('lxc')) {
  console.log('unprivileged LXC containers (library calls; containers of a non-root owner)');
  console.table(await benchLxc());
}
if (wanted('lxc50')) {
  console.log(
    '50 unprivileged containers of one user in one `consfig deploy` (CPU per container is what scales with cores)',
  );
  console.table(await benchLxcScale(runs));
}
if (wanted('seed')) {
  console.log("the seed's chain: laptop (sudo) → lxctest's tree (lxc1's inside, shifted), booted with libvirt");
  console.table(benchSeed(runs));
}
if (wanted('veth')) {
  console.log(`the veth routing image (its node starts in ${yardstick.split(';')[0]})`);
  console.table(await benchVeth(runs));
}
