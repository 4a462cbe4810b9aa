// LXC benchmarks: entering a running unprivileged container, and 20 file properties
// deployed into 1, 4 and 8 containers in parallel.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineHost, deploy, deployMany, openConnection } from '@consfig/core';
import { lxc as lxcHop } from '@consfig/connections';
import { file, lxc, os } from '@consfig/properties';
import { machineBusyMs } from './machine-cpu.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '../packages/cli/dist/bin.js');
const OWNER = process.env.BENCH_LXC_OWNER ?? 'consfig-tuser';
const LXCPATH = `/var/lib/consfig-bench/lxc-${OWNER}`;
const NAMES = Array.from({ length: 8 }, (_, i) => `b${i + 1}`);

function sh(script) {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

async function buildContainers() {
  sh(`id ${OWNER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${OWNER}`);
  const hosts = NAMES.map((n) => defineHost(`${n}.bench`, [os.debianStable('bookworm', 'amd64')]));
  const options = {
    owner: OWNER,
    lxcpath: LXCPATH,
    start: true,
    additionalLines: ['lxc.init.cmd = /usr/bin/sleep infinity', 'lxc.net.0.type = empty'],
  };
  const r = await deploy(
    defineHost(
      'bench-lxc-host',
      hosts.map((h) => lxc.userContainerFor(options, h)),
    ),
    'local',
  );
  if (r.failures.length > 0) throw r.failures[0].error;
}

function via(name) {
  return [lxcHop({ name, owner: OWNER, lxcpath: LXCPATH })];
}

async function fileDeploy(count, round) {
  const hosts = NAMES.slice(0, count).map((n) =>
    defineHost(
      `${n}.bench`,
      Array.from({ length: 20 }, (_, k) => file.hasContent(`/srv/bench/f${k}`, `${n} ${k} ${round}`)),
      { via: via(n) },
    ),
  );
  const results = await deployMany(hosts, { parallel: count });
  if (results.some((r) => r.status !== 'ok')) throw new Error('file deploy into containers failed');
}

/** Mean wall and CPU time of `rounds` deploys into `count` containers. */
async function measure(count, fresh, rounds = 5) {
  await fileDeploy(count, fresh ? 'warm' : 0);
  const cpu0 = machineBusyMs();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await fileDeploy(count, fresh ? r : 0);
  return { wall: (performance.now() - t0) / rounds, cpu: (machineBusyMs() - cpu0) / rounds };
}

/** Median of `n` chains opened through `hops`, each running one command and closed (ms). */
async function chains(hops, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const conn = await openConnection(hops());
    await conn.run(['true']);
    times.push(performance.now() - t);
    await conn.close();
  }
  return median(times);
}

/**
 * A run's first chain into b1 and one command, as `consfig deploy` pays it: the median of
 * `n` deploys of one command, each the time the CLI reports for its host (the lock, the
 * chain, the command; not node's start).
 */
function firstOfRuns(persist, n = 5) {
  const dir = join(HERE, '.tmp');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, `lxc-first-${persist ?? 0}.ts`);
  const hop = { name: 'b1', owner: OWNER, lxcpath: LXCPATH, ...(persist ? { persist } : {}) };
  writeFileSync(
    config,
    `import { defineConsfig, defineHost } from '@consfig/core';
import { lxc } from '@consfig/connections';
import { cmd } from '@consfig/properties';
const via = [lxc(${JSON.stringify(hop)})];
export default defineConsfig({ hosts: [defineHost('b1.bench', [cmd.single(['true'])], { via })] });
`,
  );
  const deployOnce = () => {
    const out = execFileSync(process.execPath, [BIN, 'deploy', '--reporter', 'plain', '-c', config], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    const ms = / in (\d+)ms/.exec(out)?.[1];
    if (!out.includes('1 changed') || ms === undefined) throw new Error(`deploy into b1 failed:\n${out}`);
    return Number(ms);
  };
  deployOnce(); // the config compiled, the code cache filled (and, with persist, the agent kept)
  return median(Array.from({ length: n }, deployOnce));
}

function median(values) {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

/**
 * The owner entering their own container (no root on the way), as the figure is:
 * the median of 20 chains opened from one process run as the owner, each running one
 * command and closed (the first, which starts the forker, left out); with persist, each
 * attaching to the agent the first kept.
 */
function asOwner(persist) {
  const runtime = mkdtempSync(join(tmpdir(), 'consfig-bench-owner-'));
  execFileSync('chown', [OWNER, runtime]);
  const hop = { name: 'b1', lxcpath: LXCPATH, ...(persist ? { persist } : {}) };
  const script = `import { openConnection } from '@consfig/core';
import { lxc } from '@consfig/connections';
const times = [];
for (let i = 0; i < 21; i++) {
  const t = performance.now();
  const conn = await openConnection([lxc(${JSON.stringify(hop)})]);
  await conn.run(['true']);
  if (i > 0) times.push(performance.now() - t);
  await conn.close();
}
process.stdout.write(String(times.sort((a, b) => a - b)[10]));`;
  try {
    const home = execFileSync('sh', ['-c', `getent passwd ${OWNER} | cut -d: -f6`], { encoding: 'utf8' }).trim();
    const env = ['env', `HOME=${home}`, `XDG_RUNTIME_DIR=${runtime}`, process.execPath, '--input-type=module', '-e'];
    return Number(execFileSync('runuser', ['-u', OWNER, '--', ...env, script], { encoding: 'utf8', cwd: HERE }));
  } finally {
    rmSync(runtime, { recursive: true, force: true });
  }
}

/** The agent kept entered (lxc's persist): a run attaches to it instead of entering. */
async function keptAgentRows() {
  // Its socket in a directory of the bench's, not root's own; set only meanwhile, as su
  // passes it on to the owner's lxc commands.
  const runtime = mkdtempSync(join(tmpdir(), 'consfig-bench-run-'));
  const saved = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = runtime;
  try {
    const kept = () => [lxcHop({ name: 'b1', owner: OWNER, lxcpath: LXCPATH, persist: 30 })];
    return [
      {
        bench: '… with the agent kept (persist): attach + one command (the same)',
        value: `${firstOfRuns(30).toFixed(1)} ms`,
        target: '',
      },
      {
        bench: '… attach again + one command (median of 20)',
        value: `${(await chains(kept, 20)).toFixed(1)} ms`,
        target: '',
      },
    ];
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    rmSync(runtime, { recursive: true, force: true });
  }
}

export async function benchLxc() {
  await buildContainers();
  const rows = [];
  const t0 = performance.now();
  const conn = await openConnection(via('b1'));
  await conn.run(['true']);
  const first = performance.now() - t0;
  const n = 200;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) await conn.run(['true']);
  const per = (performance.now() - t1) / n;
  await conn.close();
  const reenter = await chains(() => via('b1'), 20);
  const ms = (value) => `${value.toFixed(1)} ms`;
  rows.push({
    bench: 'enter a running container (root → owner → nsenter) + one command, first',
    value: ms(first),
    target: '',
  });
  rows.push({ bench: 'enter again + one command (median of 20)', value: ms(reenter), target: '≤ 8 ms' });
  rows.push({ bench: 'one more command in the entered container', value: `${per.toFixed(2)} ms`, target: '< 5 ms' });
  rows.push({
    bench: "a run's first chain: enter + one command (consfig deploy's own time, median of 5 runs)",
    value: ms(firstOfRuns()),
    target: '',
  });
  rows.push(...(await keptAgentRows()));
  rows.push({
    bench: 'the owner entering their running container + one command (median of 20)',
    value: ms(asOwner()),
    target: '≤ 8 ms',
  });
  rows.push({ bench: '… with the agent kept (persist): attaching + one command', value: ms(asOwner(30)), target: '' });
  // A deploy is a chain of round trips whose every step uses a core, so on C cores 8
  // deploys cannot take less than 8/C times one; the figures show how near they come.
  const cores = availableParallelism();
  for (const [label, fresh] of [
    ['changing 20 files', true],
    ['no change', false],
  ]) {
    const [one, four, eight] = [await measure(1, fresh), await measure(4, fresh), await measure(8, fresh)];
    const busy = (m, count) =>
      `${(m.cpu / m.wall).toFixed(1)} of ${cores} cores busy, ${(m.cpu / count).toFixed(0)} ms CPU per container`;
    rows.push({
      bench: `20 file properties (${label}) into 1 container`,
      value: `${one.wall.toFixed(0)} ms, ${busy(one, 1)}`,
      target: '',
    });
    rows.push({
      bench: '… into 4 containers in parallel',
      value: `${four.wall.toFixed(0)} ms (${(four.wall / one.wall).toFixed(2)}x), ${busy(four, 4)}`,
      target: '',
    });
    rows.push({
      bench: '… into 8 containers in parallel',
      value:
        `${eight.wall.toFixed(0)} ms (${(eight.wall / one.wall).toFixed(2)}x; ` +
        `CPU-bound on ${cores} cores ≈ ${Math.max(1, 8 / cores).toFixed(1)}x), ${busy(eight, 8)}`,
      target: '< 2x of 1',
    });
  }
  for (const n of NAMES) sh(`su ${OWNER} -s /bin/sh -c 'lxc-stop -P ${LXCPATH} -n ${n} -k' 2>/dev/null || true`);
  sh(`rm -rf ${LXCPATH}`);
  return rows;
}
