// The veth routing hook: how long LXC's network hook takes to have the route in place
// (the hook, userv or sudo, the image starting on its node, its checks, ip), the
// image's size, and a no-change re-deploy of the container host that carries it.
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { defineHost, deploy } from '@consfig/core';
import { file, lxc, os, veth } from '@consfig/properties';

const OWNER = process.env.BENCH_LXC_OWNER ?? 'consfig-tuser';
const LXCPATH = `/var/lib/consfig-bench/lxc-veth-${OWNER}`;
const BRIDGE = 'cvbench0';
const ADDRESS = '10.78.0.10';

function sh(script) {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

function containerHost(via, c) {
  const lines = [
    'lxc.init.cmd = /usr/bin/sleep infinity',
    'lxc.net.0.type = veth',
    `lxc.net.0.link = ${BRIDGE}`,
    'lxc.net.0.flags = up',
    ...veth.hookLines(c, OWNER, { name: 'consfig-veth-bench' }),
  ];
  return defineHost(
    'vethbench.example',
    [
      os.debianStable('bookworm', 'amd64'),
      veth.routingHook({ via, name: 'consfig-veth-bench' }),
      lxc.userContainerFor({ owner: OWNER, lxcpath: LXCPATH, additionalLines: lines }, c),
    ],
    { via: 'local' },
  );
}

export async function benchVeth(runs) {
  sh(`id ${OWNER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${OWNER}
      pgrep -x uservd >/dev/null || { mkdir -p -m 700 /var/run/userv; /usr/sbin/uservd -daemon; }`);
  const uid = sh(`id -u ${OWNER}`).trim();
  const gid = sh(`id -g ${OWNER}`).trim();
  const peer = `veth${uid}_bench`;
  sh(
    `ip link show ${peer} >/dev/null 2>&1 || ip link add ${peer} type veth peer name ${peer}p
` + `ip link set ${peer}p up; ip link set ${peer} up`,
  );
  const c = defineHost('vb1.bench', [
    os.debianStable('bookworm', 'amd64'),
    file.hasContent('/etc/motd', 'vb1'),
    veth.routes(OWNER, ADDRESS),
  ]);
  const rows = [];
  try {
    for (const via of ['userv', 'sudo']) {
      const host = containerHost(via, c);
      const built = await deploy(host);
      if (built.failures.length > 0) throw built.failures[0].error;
      const times = [];
      const again = [];
      for (let i = 0; i < runs; i++) {
        for (const type of ['up', 'down']) {
          const started = process.hrtime.bigint();
          const r = spawnSync(
            'setpriv',
            [
              `--reuid=${uid}`,
              `--regid=${gid}`,
              '--init-groups',
              'env',
              `LXC_HOOK_TYPE=${type}`,
              `LXC_NET_PEER=${peer}`,
              'LXC_NAME=vb1',
              veth.routingPaths('consfig-veth-bench').hook,
              ADDRESS,
              'veth',
              BRIDGE,
              peer,
            ],
            { encoding: 'utf8' },
          );
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (r.status !== 0) throw new Error(`hook ${type} failed: ${r.stderr}`);
          if (type === 'up') {
            if (!sh(`ip route show ${ADDRESS}`).includes(peer)) throw new Error('no route after the hook');
            times.push(ms);
          }
        }
        const started = performance.now();
        const r = await deploy(host);
        if (r.changed !== 0) throw new Error(`the re-deploy changed ${r.changed}`);
        again.push(performance.now() - started);
      }
      const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
      // node's own start-up on this machine now, which the figure includes, in the
      // image's environment (empty: NODE_EXTRA_CA_CERTS, say, would cost more)
      const node = median(
        Array.from({ length: runs }, () => {
          const started = process.hrtime.bigint();
          spawnSync(process.execPath, ['-e', '0'], { env: {} });
          return Number(process.hrtime.bigint() - started) / 1e6;
        }),
      );
      rows.push({
        bench: `hook start → route in place, through ${via}`,
        value: `${median(times).toFixed(0)} ms (node's own start ${node.toFixed(0)} ms of it)`,
        target: '< 100 ms',
      });
      rows.push({
        bench: `no-change re-deploy of the container host with the image (${via})`,
        value: `${median(again).toFixed(0)} ms`,
        target: '< 500 ms',
      });
    }
    rows.push({
      bench: 'routing image size (the node it runs on is shipped once per target)',
      value: `${(statSync(veth.routingPaths('consfig-veth-bench').image).size / 1024).toFixed(1)} KiB`,
      target: '',
    });
  } finally {
    sh(`ip link del ${peer} 2>/dev/null; ip route del ${ADDRESS} 2>/dev/null; true`);
  }
  return rows;
}
