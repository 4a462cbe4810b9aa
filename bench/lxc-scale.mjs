// 50 unprivileged containers of one user, 20 file properties each, all in one
// `consfig deploy` (the CLI, as a user runs it): wall time, CPU per container, peak RSS
// and open files of the consfig process, then a parallel teardown that must leave no
// container, veth or cgroup behind.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusyMs } from './machine-cpu.mjs';
import { defineHost, deploy } from '@consfig/core';
import { lxc, os } from '@consfig/properties';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../packages/cli/dist/bin.js');
const OWNER = process.env.BENCH_LXC_OWNER ?? 'consfig-tuser';
const LXCPATH = `/var/lib/consfig-bench/lxc50-${OWNER}`;
const COUNT = Number(process.env.BENCH_LXC_COUNT ?? 50);
const NAMES = Array.from({ length: COUNT }, (_, i) => `s${i + 1}`);
const BASE = 'lxc50base';
// (copies where this kernel or LXC cannot start an overlay snapshot: see createContainers)
let CLONES = process.env.BENCH_LXC_CLONES === 'copy' ? 'copy' : 'overlay';

const sh = (script) => execFileSync('sh', ['-c', script], { encoding: 'utf8' });
const asOwner = (script) => execFileSync('su', [OWNER, '-s', '/bin/sh', '-c', script], { encoding: 'utf8' });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A base container by consfig's own path (rootfs cache, id shift), never started; the 50
 * are LXC's overlay snapshots of it (`lxc-copy -s -B overlay`, as the owner), as one would
 * make many alike containers. `BENCH_LXC_CLONES=copy` copies the whole tree into each
 * instead: the teardown then removes 50 trees, which a disk mounted with `discard` makes
 * slow (see the teardown row).
 */
export async function createContainers() {
  sh(`id ${OWNER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${OWNER}`);
  const base = defineHost(`${BASE}.bench`, [os.debianStable('bookworm', 'amd64')]);
  const options = {
    owner: OWNER,
    lxcpath: LXCPATH,
    start: false,
    additionalLines: ['lxc.init.cmd = /usr/bin/sleep infinity', 'lxc.net.0.type = empty'],
  };
  const r = await deploy(defineHost('bench-lxc50-host', [lxc.userContainerFor(options, base)]), 'local');
  if (r.failures.length > 0) throw r.failures[0].error;
  let missing = NAMES.filter((n) => !existsSync(join(LXCPATH, n, 'config')));
  if (missing.length > 0 && CLONES === 'overlay') {
    // An unprivileged overlay needs Linux 5.11: tried with one first, else copies.
    const [one] = missing;
    try {
      asOwner(`lxc-copy -P ${LXCPATH} -n ${BASE} -N ${one} -s -B overlay && lxc-start -P ${LXCPATH} -n ${one}`);
      asOwner(`lxc-stop -P ${LXCPATH} -n ${one} -k`);
      missing = missing.slice(1);
    } catch {
      asOwner(`lxc-stop -P ${LXCPATH} -n ${one} -k 2>/dev/null; lxc-destroy -P ${LXCPATH} -n ${one} 2>/dev/null; true`);
      CLONES = 'copy';
    }
  }
  // Four at a time: the disk, not the CPU, is the limit of the copies.
  if (missing.length > 0 && CLONES === 'overlay') {
    asOwner(
      `printf '%s\\n' ${missing.join(' ')} | xargs -P 4 -I{} lxc-copy -P ${LXCPATH} -n ${BASE} -N {} -s -B overlay`,
    );
  } else if (missing.length > 0) {
    const template = readFileSync(join(LXCPATH, BASE, 'config'), 'utf8');
    for (const n of missing) {
      mkdirSync(join(LXCPATH, n), { recursive: true });
      writeFileSync(
        join(LXCPATH, n, 'config'),
        template.replaceAll(`/${BASE}/`, `/${n}/`).replace(/^lxc\.uts\.name = .*$/m, `lxc.uts.name = ${n}`),
      );
    }
    sh(
      `printf '%s\\n' ${missing.join(' ')} | xargs -P 4 -I{} sh -c ` +
        `'cp -a ${LXCPATH}/${BASE}/rootfs ${LXCPATH}/{}/rootfs && chown ${OWNER}: ${LXCPATH}/{} ${LXCPATH}/{}/config'`,
    );
  }
  asOwner(`for n in ${NAMES.join(' ')}; do lxc-start -P ${LXCPATH} -n $n || exit 1; done`);
}

export function config(round) {
  const file = join(here, '.tmp', `lxc50-${round}.ts`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `import { defineConsfig, defineHost } from '@consfig/core';
import { lxc } from '@consfig/connections';
import { file } from '@consfig/properties';
const names = ${JSON.stringify(NAMES)};
export default defineConsfig({
  hosts: names.map((n) =>
    defineHost(
      \`\${n}.bench\`,
      Array.from({ length: 20 }, (_, k) => file.hasContent(\`/srv/bench/f\${k}\`, \`\${n} \${k} ${round}\\n\`)),
      {
        via: [lxc({ name: n, owner: ${JSON.stringify(OWNER)}, lxcpath: ${JSON.stringify(LXCPATH)} })],
      },
    ),
  ),
});
`,
  );
  return file;
}

/** One `consfig deploy` of all containers: wall, CPU (the whole machine's), peak RSS, most open files. */
function consfigDeploy(file, expectChanged) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const busy0 = machineBusyMs();
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, bin, 'deploy', '-c', file, '--reporter', 'plain', '-p', String(COUNT)],
      {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let fds = 0;
    // From /proc, not pgrep: a process started every 25 ms would take a core's share
    // from the deploy it measures.
    const sample = setInterval(() => {
      try {
        const node = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0];
        if (node) fds = Math.max(fds, readdirSync(`/proc/${node}/fd`).length);
      } catch {
        // between processes
      }
    }, 25);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearInterval(sample);
      const wall = performance.now() - started;
      const cpu = machineBusyMs() - busy0;
      const rssKb = Number(err.trim().split('\n').at(-1));
      const want = `${expectChanged ? 20 : 0} changed`;
      if (code !== 0 || out.split('\n').filter((l) => l.includes(want)).length !== COUNT) {
        reject(
          new Error(
            `consfig deploy into ${COUNT} containers failed (${code}):\n${out.slice(-2000)}\n${err.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve({ wall, cpu, rssMb: rssKb / 1024, fds });
    });
  });
}

/** Stop and remove all in parallel; then nothing of theirs may be left. */
export function teardown() {
  const t0 = performance.now();
  asOwner(`for n in ${NAMES.join(' ')}; do lxc-stop -P ${LXCPATH} -n $n -k 2>/dev/null & done; wait`);
  const stopMs = performance.now() - t0;
  sh(`ls -d ${LXCPATH}/*/ | xargs -P 8 -n 4 rm -rf && rm -rf ${LXCPATH}`);
  const ms = performance.now() - t0;
  const left = [];
  const monitors = sh(`ps -u ${OWNER} -o args= | grep -cF '[lxc monitor] ${LXCPATH}' || true`).trim();
  if (monitors !== '0') left.push(`${monitors} containers`);
  const cgroups = sh(
    `find /sys/fs/cgroup -maxdepth 6 -type d -name 'lxc.payload.s*' 2>/dev/null | grep /${OWNER}/ || true`,
  ).trim();
  if (cgroups) left.push(`cgroups ${cgroups.split('\n').length}`);
  const veths = sh('ip -o link show type veth 2>/dev/null | grep -c . || true').trim();
  return { ms, stopMs, left, veths: Number(veths) };
}

export async function benchLxcScale(runs) {
  const veths0 = Number(sh('ip -o link show type veth 2>/dev/null | grep -c . || true').trim());
  const c0 = performance.now();
  await createContainers();
  const created = performance.now() - c0;
  const rows = [];
  try {
    const firsts = [];
    for (let r = 1; r <= Math.max(1, Math.min(runs, 3)); r++) firsts.push(await consfigDeploy(config(r), true));
    const again = [];
    for (let r = 0; r < runs; r++) again.push(await consfigDeploy(config(Math.max(1, Math.min(runs, 3))), false));
    const row = (label, ms, target) => rows.push({ bench: label, value: ms, target });
    const pick = (list, key) => median(list.map((m) => m[key]));
    const made = CLONES === 'overlay' ? 'overlay snapshots' : 'whole copies';
    row(
      `${COUNT} containers created (a base built, ${made} of it) and started`,
      `${(created / 1000).toFixed(1)} s`,
      '',
    );
    row(`first deploy, ${COUNT} × 20 files`, `${pick(firsts, 'wall').toFixed(0)} ms`, '');
    row('… CPU per container', `${(pick(firsts, 'cpu') / COUNT).toFixed(1)} ms`, '');
    row('no-change re-deploy', `${pick(again, 'wall').toFixed(0)} ms`, '≤ 400 ms');
    row('… CPU per container', `${(pick(again, 'cpu') / COUNT).toFixed(1)} ms`, '≤ 8 ms');
    row('… peak RSS of consfig', `${Math.max(...again.map((m) => m.rssMb)).toFixed(0)} MB`, '≤ 120 MB');
    row('… most open files of consfig', `${Math.max(...again.map((m) => m.fds))}`, '');
  } finally {
    const down = teardown();
    // Online discard trims what each removed file freed, one request a file (a minbase tree:
    // ~8,000), at each journal commit: on this machine's virtual disk that made removing
    // trees ~11x slower (8 trees: 5.9 s against 0.53 s remounted without it).
    const discard =
      CLONES === 'copy' && /(^|,)discard(,|$)/.test(sh(`findmnt -no OPTIONS -T ${dirname(LXCPATH)}`).trim());
    const removed = CLONES === 'overlay' ? 'the snapshots and the base' : 'trees';
    rows.push({
      bench: `teardown of ${COUNT} in parallel`,
      value:
        `${(down.ms / 1000).toFixed(1)} s ` +
        `(stopping ${(down.stopMs / 1000).toFixed(1)} s, the rest removing ${removed})` +
        (down.left.length ? `, LEFT: ${down.left.join(', ')}` : ', nothing left') +
        (down.veths !== veths0 ? `, veths ${veths0} → ${down.veths}` : '') +
        (discard ? '; the filesystem is mounted with discard (see docs/benchmarks.md)' : ''),
      target: '≤ 20 s',
    });
  }
  return rows;
}
