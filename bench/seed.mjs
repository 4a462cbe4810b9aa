// The seed's chain: a no-change re-deploy of the laptop with lxctest's tree built and
// lxc1's tree built and shifted inside it (built on the first bench run, then kept).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../packages/cli/dist/bin.js');
const lab = join(here, '../examples/seed-lab/consfig.ts');
const env = { ...process.env, NO_COLOR: '1', SEED_LAB_IMAGES: '/var/lib/consfig-bench/images' };

function deployLaptop(args = []) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'deploy', ...args, '--reporter', 'plain', '-c', lab, 'laptop.example'], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`seed deploy failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, out: r.stdout };
}

export function benchSeed(runs) {
  const build = deployLaptop();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { ms, out } = deployLaptop();
    if (!/laptop\.example[\s\S]*\n {2}0 changed/.test(out)) throw new Error(`the re-deploy changed something:\n${out}`);
    times.push(ms);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return [
    { bench: 'laptop first deploy (builds both trees when they are not there yet)', value: `${(build.ms / 1000).toFixed(1)} s`, target: '' },
    { bench: 'laptop no-change re-deploy, both trees built (whole CLI)', value: `${(median / 1000).toFixed(2)} s`, target: '< 2 s' },
  ];
}
