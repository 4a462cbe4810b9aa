// LXC benchmarks: entering a running unprivileged container, and 20 file properties
// deployed into 1, 4 and 8 containers in parallel.
import { execFileSync } from 'node:child_process';
import { defineHost, deploy, deployMany, openConnection } from '@consfig/core';
import { lxc as lxcHop, su } from '@consfig/connections';
import { file, lxc, os } from '@consfig/properties';

const OWNER = process.env.BENCH_LXC_OWNER ?? 'consfig-tuser';
const LXCPATH = `/var/lib/consfig-bench/lxc-${OWNER}`;
const NAMES = Array.from({ length: 8 }, (_, i) => `b${i + 1}`);

function sh(script) {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

async function buildContainers() {
  sh(`id ${OWNER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${OWNER}`);
  const hosts = NAMES.map((n) => defineHost(`${n}.bench`, [os.debianStable('bookworm', 'amd64')]));
  const options = { owner: OWNER, lxcpath: LXCPATH, start: true, additionalLines: ['lxc.init.cmd = /usr/bin/sleep infinity', 'lxc.net.0.type = empty'] };
  const r = await deploy(defineHost('bench-lxc-host', hosts.map((h) => lxc.userContainerFor(options, h))), 'local');
  if (r.failures.length > 0) throw r.failures[0].error;
}

function via(name) {
  return [su(OWNER), lxcHop({ name, lxcpath: LXCPATH })];
}

async function fileDeploy(count, round) {
  const hosts = NAMES.slice(0, count).map((n) =>
    defineHost(`${n}.bench`, Array.from({ length: 20 }, (_, k) => file.hasContent(`/srv/bench/f${k}`, `${n} ${k} ${round}`)), { via: via(n) }),
  );
  const started = performance.now();
  const results = await deployMany(hosts, { parallel: count });
  const ms = performance.now() - started;
  if (results.some((r) => r.status !== 'ok')) throw new Error('file deploy into containers failed');
  return ms;
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
  const t2 = performance.now();
  const again = await openConnection(via('b1'));
  await again.run(['true']);
  const reenter = performance.now() - t2;
  await again.close();
  rows.push({ bench: 'enter a running container (su → nsenter) + one command, first', value: `${first.toFixed(1)} ms`, target: '' });
  rows.push({ bench: 'enter again + one command', value: `${reenter.toFixed(1)} ms`, target: '' });
  rows.push({ bench: 'one more command in the entered container', value: `${per.toFixed(2)} ms`, target: '< 5 ms' });
  for (const [label, fresh] of [['changing 20 files', true], ['no change', false]]) {
    const round = (n) => (fresh ? n : 0);
    if (!fresh) for (const n of [1, 4, 8]) await fileDeploy(n, 0); // settle: the files hold round 0
    const one = await fileDeploy(1, round(1));
    const four = await fileDeploy(4, round(2));
    const eight = await fileDeploy(8, round(3));
    rows.push({ bench: `20 file properties (${label}) into 1 container`, value: `${one.toFixed(0)} ms`, target: '' });
    rows.push({ bench: '… into 4 containers in parallel', value: `${four.toFixed(0)} ms (${(four / one).toFixed(2)}x)`, target: '' });
    rows.push({ bench: '… into 8 containers in parallel', value: `${eight.toFixed(0)} ms (${(eight / one).toFixed(2)}x)`, target: '< 2x of 1' });
  }
  for (const n of NAMES) sh(`su ${OWNER} -s /bin/sh -c 'lxc-stop -P ${LXCPATH} -n ${n} -k' 2>/dev/null || true`);
  sh(`rm -rf ${LXCPATH}`);
  return rows;
}
