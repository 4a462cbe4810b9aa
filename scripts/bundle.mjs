#!/usr/bin/env node
/**
 * After tsc: each package's entry points rebuilt as one ES module each (plus chunks they
 * share), so that starting consfig reads a handful of files instead of ~100. Node 20's
 * loader spends ~0.5 ms resolving, reading and compiling each module; that was half of a
 * small deploy's time. Other packages (ours and third parties') stay imports, so a config
 * and the CLI share one instance of each. tsc's other outputs stay: types, and the files
 * that are run on their own (module hooks, code bundled for the far end).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points of each package, as paths under src/ without extension. */
const packages = {
  core: ['index', 'public/property', 'public/hop', 'config-file/ts-hooks'],
  connections: ['index'],
  rootfs: ['index'],
  properties: ['index'],
  cli: ['index', 'bin'],
};

const only = process.argv.slice(2);
await Promise.all(
  Object.entries(packages)
    .filter(([name]) => only.length === 0 || only.includes(name))
    .map(async ([name, entries]) => {
      const dir = join(root, 'packages', name);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const external = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
      // Chunks of earlier builds (their names carry a content hash) would be packed too.
      for (const f of readdirSync(join(dir, 'dist'))) {
        if (/^[a-z]+-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) rmSync(join(dir, 'dist', f));
      }
      await esbuild.build({
        absWorkingDir: dir,
        entryPoints: entries.map((e) => ({ in: `src/${e}.ts`, out: e })),
        outdir: 'dist',
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        external,
        sourcemap: true,
        sourcesContent: false,
        chunkNames: '[name]-[hash]',
        allowOverwrite: true,
        logLevel: 'warning',
      });
    }),
);
