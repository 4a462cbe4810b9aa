// Root filesystem benchmarks: unpack from the cache, a first build against bare
// mmdebstrap, and id-shift throughput on a minbase tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { defprop, deployThese, openConnection } from '@consfig/core';
import { cachedRootfs, ensureRootfs, parseBootstrapOptions, shiftTree, unshiftTree } from '@consfig/rootfs';

const percent = (ms, base) => `${(((ms - base) / base) * 100).toFixed(0)}%`;

const WORK = '/var/lib/consfig-bench/rootfs';

async function timed(body) {
  let out;
  const p = defprop({ name: 'bench.rootfs', desc: 'bench', apply: async (ctx) => void (out = await body(ctx)) });
  const started = performance.now();
  const r = await deployThese('local', p());
  if (r.failures.length > 0) throw r.failures[0].error;
  return { ms: performance.now() - started, out };
}

export async function benchRootfs({ firstBuild = true } = {}) {
  mkdirSync(WORK, { recursive: true });
  const o = parseBootstrapOptions({ suite: 'bookworm', bootstrapper: 'mmdebstrap' }, 'bench');
  await timed((ctx) => cachedRootfs(ctx, o)); // warm the cache
  const rows = [];
  const root = `${WORK}/from-cache`;
  rmSync(root, { recursive: true, force: true });
  const fromCache = await timed((ctx) => ensureRootfs(ctx, o, root));
  rows.push({
    bench: 'rootfs from cache (minbase, mmdebstrap)',
    value: `${(fromCache.ms / 1000).toFixed(2)} s`,
    target: '< 3 s',
  });

  if (firstBuild) {
    const cacheDir = `${WORK}/fresh-cache`;
    rmSync(cacheDir, { recursive: true, force: true });
    const ours = await timed((ctx) => cachedRootfs(ctx, o, { cacheDir }));
    const bareOut = `${WORK}/bare.tar.zst`;
    rmSync(bareOut, { force: true });
    const started = performance.now();
    execFileSync('mmdebstrap', [
      '--quiet',
      '--variant=minbase',
      'bookworm',
      bareOut,
      '/etc/apt/sources.list.d/debian.sources',
    ]);
    const bare = performance.now() - started;
    rows.push({
      bench: 'first build vs bare mmdebstrap',
      value: `${(ours.ms / 1000).toFixed(1)} s vs ${(bare / 1000).toFixed(1)} s (${percent(ours.ms, bare)})`,
      target: 'within 10%',
    });
  }

  const maps = {
    uid: [{ inside: 0, outside: 100000, count: 65536 }],
    gid: [{ inside: 0, outside: 100000, count: 65536 }],
  };
  // The shifter runs at the far end of a connection (here this machine's): one perl process.
  const conn = await openConnection([]);
  const shiftIn = await shiftTree(conn, root, maps);
  const shiftOut = await unshiftTree(conn, root, maps);
  await conn.close();
  const rate = (r) => Math.round(r.inodes / (r.durationMs / 1000));
  rows.push({
    bench: `id shift in (${shiftIn.inodes} inodes)`,
    value: `${rate(shiftIn)} inodes/s`,
    target: '>= 50000/s',
  });
  rows.push({
    bench: `id shift out (${shiftOut.inodes} inodes)`,
    value: `${rate(shiftOut)} inodes/s`,
    target: '>= 50000/s',
  });
  rmSync(root, { recursive: true, force: true });
  return rows;
}
