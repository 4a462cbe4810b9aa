#!/usr/bin/env node
/**
 * After tsc: each package's runtime as one CommonJS file, `dist/runtime.cjs`, and its
 * entry points as small wrappers over it (`dist/entry/<name>.mjs` for import, `.cjs` for
 * require), so that the CLI, a config and any other importer share one instance.
 *
 * Why CommonJS: Node 20 can keep V8's compiled code only for scripts (`vm.Script`), not
 * for ES modules, and compiling was most of a small run's start-up (the CLI's code cache,
 * packages/cli/src/code-cache.ts). One file per package, not ~100: Node's loader spends
 * ~0.5 ms resolving, reading and compiling each module.
 *
 * tsc's per-file ES modules stay in dist/: code bundled for the far end is built from
 * them (the `consfig-source` export condition), so that it is tree-shaken down to what
 * it uses; and the files run on their own (the CLI's bin, the module hooks) are ES
 * modules bundled alone.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points of each package's runtime, and files bundled alone, as paths under src/ without extension. */
const packages = {
  core: { runtime: ['index', 'public/property', 'public/hop'], alone: ['config-file/ts-hooks'] },
  connections: { runtime: ['index'], alone: [] },
  rootfs: { runtime: ['index'], alone: [] },
  properties: { runtime: ['index'], alone: [] },
  cli: { runtime: ['index'], alone: ['bin'] },
};

/**
 * Dependencies bundled in: p-limit is an ES module only (requiring it needs Node 20.19);
 * zod is ten modules, whose resolving and loading one by one cost a small run ~10 ms.
 */
const BUNDLED = new Set(['p-limit', 'zod']);

/**
 * zod is bundled once, into core's runtime: the other runtimes take core's `z` (the one
 * name they import of it, which core exports to property authors), so that all schemas
 * are of one copy. A runtime importing any other name from zod fails its build here.
 */
function zodFromCore(dir) {
  for (const file of sourceFiles(join(dir, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^import (?!type )(.*) from 'zod';$/gm)) {
      if (m[1] !== '{ z }')
        throw new Error(`${file}: only \`import { z } from 'zod'\` can use core's zod, not ${m[0]}`);
    }
  }
  return {
    name: 'zod-from-core',
    setup(build) {
      build.onResolve({ filter: /^zod$/ }, () => ({ path: '@consfig/core/property', external: true }));
    },
  };
}

function sourceFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

/**
 * The runtime's text for one entry point: its namespace. Where the entry only re-exports
 * (`export * as x from './x.js'`, `export { a } from './y.js'`), each `* as` namespace is
 * loaded on first use (properties' lazy-namespace.ts): esbuild then wraps those modules
 * in functions run at their first require.
 */
function runtimeEntry(dir, entry, key) {
  const source = readFileSync(join(dir, 'src', `${entry}.ts`), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const lines = source.split('\n').filter((l) => l.trim() !== '' && !/^export type /.test(l));
  const namespaces = lines.map((l) => /^export \* as (\w+) from '\.\/([\w/-]+)\.js';$/.exec(l));
  const named = lines.map((l) => /^export \{([^}]+)\} from '\.\/([\w/-]+)\.js';$/.exec(l));
  const lazy = namespaces.some(Boolean) && lines.every((_, i) => namespaces[i] || named[i]);
  if (!lazy) return `export * as ${key} from './src/${entry}.ts';`;
  const here = dirname(entry) === '.' ? '' : `${dirname(entry)}/`;
  const out = ["import { lazyNamespace } from './src/lazy-namespace.ts';"];
  const members = [];
  for (const m of named.filter(Boolean)) {
    const names = m[1]
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    out.push(`import { ${names.join(', ')} } from './src/${here}${m[2]}.ts';`);
    members.push(...names.map((n) => n.replace(/^.* as /, '')));
  }
  for (const m of namespaces.filter(Boolean)) {
    members.push(`${m[1]}: lazyNamespace(() => require('./src/${here}${m[2]}.ts'))`);
  }
  out.push(`export const ${key} = { ${members.join(', ')} };`);
  return out.join('\n');
}

/** The names an entry point exports, from an ESM build of it that is not written. */
async function exportNames(dir, entry) {
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [`src/${entry}.ts`],
    outdir: 'unwritten',
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'silent',
  });
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.exports ?? [];
}

function wrappers(key, names) {
  const named = names.filter((n) => n !== 'default');
  const esm = [
    "import { createRequire } from 'node:module';",
    `const m = createRequire(import.meta.url)('../runtime.cjs').${key};`,
    ...(named.length ? [`export const { ${named.join(', ')} } = m;`] : []),
    ...(names.includes('default') ? ['export default m.default;'] : []),
  ];
  const cjs = ["'use strict';", `module.exports = require('../runtime.cjs').${key};`];
  return { esm: `${esm.join('\n')}\n`, cjs: `${cjs.join('\n')}\n` };
}

async function buildPackage(name, { runtime, alone }) {
  const dir = join(root, 'packages', name);
  const dist = join(dir, 'dist');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const dependencies = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
  // Chunks of earlier builds (their names carry a content hash) would be packed too.
  for (const f of readdirSync(dist)) {
    if (/^[a-z]+-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) rmSync(join(dist, f));
  }
  const key = (entry) => basename(entry);
  await esbuild.build({
    absWorkingDir: dir,
    stdin: {
      contents: runtime.map((e) => runtimeEntry(dir, e, key(e))).join('\n'),
      resolveDir: dir,
      sourcefile: 'runtime.ts',
      loader: 'ts',
    },
    outfile: 'dist/runtime.cjs',
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: dependencies.filter((d) => !BUNDLED.has(d)),
    plugins: name === 'core' ? [] : [zodFromCore(dir)],
    // The sources are ES modules: strict, and import.meta.url names this file (in dist/,
    // where the ES bundles were, so that paths relative to it keep their meaning).
    banner: { js: "'use strict';\nconst __consfigModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__consfigModuleUrl' },
    supported: { 'dynamic-import': true },
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  // Node reads a file with any other character into a two-byte string: ~2 ms more for core's.
  const text = readFileSync(join(dist, 'runtime.cjs'), 'utf8');
  const wide = /[^\x00-\x7f]/.exec(text);
  if (wide) {
    const line = text.slice(0, wide.index).split('\n').length;
    throw new Error(
      `${name}/dist/runtime.cjs:${line}: ${JSON.stringify(wide[0])} is not ASCII (escape it in its source)`,
    );
  }
  // The build's id (core's build-id.ts): another build, another id.
  writeFileSync(join(dist, 'build-id'), `${createHash('sha256').update(text).digest('hex')}\n`);
  mkdirSync(join(dist, 'entry'), { recursive: true });
  for (const entry of runtime) {
    const { esm, cjs } = wrappers(key(entry), await exportNames(dir, entry));
    writeFileSync(join(dist, 'entry', `${key(entry)}.mjs`), esm);
    writeFileSync(join(dist, 'entry', `${key(entry)}.cjs`), cjs);
  }
  if (alone.length === 0) return;
  await esbuild.build({
    absWorkingDir: dir,
    entryPoints: alone.map((e) => ({ in: `src/${e}.ts`, out: e })),
    outdir: 'dist',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    sourcesContent: false,
    allowOverwrite: true,
    logLevel: 'warning',
  });
}

const only = process.argv.slice(2);
await Promise.all(
  Object.entries(packages)
    .filter(([name]) => only.length === 0 || only.includes(name))
    .map(([name, spec]) => buildPackage(name, spec)),
);
