// Four chroots, each with 20 files and an apt check, in one `consfig deploy` (the CLI,
// as a user runs it): the first deploy (files written) and a no-change re-deploy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defprop, deployThese } from '@consfig/core';
import { ensureRootfs, parseBootstrapOptions } from '@consfig/rootfs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../packages/cli/dist/bin.js');
const WORK = '/var/lib/consfig-bench/chroots';
const TREES = [1, 2, 3, 4].map((i) => `${WORK}/t${i}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The trees, unpacked from the rootfs cache the first time. */
async function trees() {
  const o = parseBootstrapOptions({ suite: 'bookworm', bootstrapper: 'mmdebstrap' }, 'bench');
  const missing = TREES.filter((t) => !existsSync(join(t, 'etc/debian_version')));
  if (missing.length === 0) return;
  const unpack = defprop({
    name: 'bench.trees',
    desc: 'chroot trees',
    apply: async (ctx) => {
      for (const t of missing) await ensureRootfs(ctx, o, t);
    },
  });
  const r = await deployThese('local', unpack());
  if (r.failures.length > 0) throw r.failures[0].error;
}

function config() {
  const file = join(here, '.tmp', 'chroots.ts');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `import { defineConsfig, defineHost } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, file, os } from '@consfig/properties';
const trees = ${JSON.stringify(TREES)};
export default defineConsfig({
  hosts: trees.map((t, i) =>
    defineHost(
      \`chroot\${i + 1}.bench\`,
      [
        os.debianStable('bookworm', 'amd64'),
        apt.installed('coreutils'),
        ...Array.from({ length: 20 }, (_, k) => file.hasContent(\`/srv/bench/f\${k}\`, \`\${i} \${k}\\n\`)),
      ],
      { via: [chroot(t)] },
    ),
  ),
});
`,
  );
  return file;
}

function timeDeploy(file, changed) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [bin, 'deploy', '-c', file, '--reporter', 'plain', '-p', '4'], {
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  const want = `${changed} changed`;
  if (r.status !== 0 || r.stdout.split('\n').filter((l) => l.includes(want)).length !== TREES.length) {
    throw new Error(`consfig deploy into the chroots failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return ms;
}

export async function benchChroots(runs) {
  await trees();
  const file = config();
  const clear = () => {
    for (const t of TREES) rmSync(join(t, 'srv/bench'), { recursive: true, force: true });
  };
  clear();
  timeDeploy(file, 20); // compile the config into the cache; not what we measure
  const firsts = [];
  const again = [];
  for (let i = 0; i < runs; i++) {
    clear();
    firsts.push(timeDeploy(file, 20));
    again.push(timeDeploy(file, 0));
  }
  return [
    {
      bench: '4 chroots × (20 files + apt check), first deploy',
      value: `${median(firsts).toFixed(0)} ms`,
      target: '≤ 200 ms',
    },
    { bench: 'the same, no-change re-deploy', value: `${median(again).toFixed(0)} ms`, target: '' },
  ];
}
