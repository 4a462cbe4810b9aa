/**
 * V8's code cache for the modules the CLI loads: kept after a run, used by the next,
 * refused where it is not the user's own, and mended when stale or damaged. The module
 * tests compile real files through Node's loader; the CLI tests run the built binary.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodeCache, defaultStorePath, readStore } from '../src/code-cache.js';
import { consfig } from './support/cli.js';

let dir: string;
let installed: CodeCache | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'consfig-code-cache-'));
});
afterEach(() => {
  installed?.uninstall();
  installed = undefined;
});

/** A CommonJS module that returns `value`, loaded afresh (out of require's own cache). */
function load(file: string): unknown {
  const require = createRequire(join(dir, 'x.cjs'));
  delete require.cache[file];
  return require(file);
}

/** One process's worth: a cache read from `store`, used for loading `file`, then saved. */
function run(store: string, file: string) {
  const cache = new CodeCache(store);
  cache.install();
  installed = cache;
  const value = load(file);
  cache.uninstall();
  installed = undefined;
  cache.save();
  return { value, stats: cache.stats };
}

describe('CodeCache', () => {
  it('compiles a module once, and runs it from the cache the next time', () => {
    const store = join(dir, 'cache', 'code.bin');
    const file = join(dir, 'answer.cjs');
    writeFileSync(
      file,
      'const parts = [4, 2];\nmodule.exports = { answer: Number(parts.join("")), file: __filename };\n',
    );
    const first = run(store, file);
    expect(first).toEqual({ value: { answer: 42, file }, stats: { fromCache: 0, compiled: 1, rejected: 0 } });
    expect(statSync(store).mode & 0o777).toBe(0o600);
    expect([...readStore(store).keys()]).toEqual([file]);
    const second = run(store, file);
    expect(second).toEqual({ value: { answer: 42, file }, stats: { fromCache: 1, compiled: 0, rejected: 0 } });
  });

  it('compiles a module again when its file changed, even to the same length', () => {
    const store = join(dir, 'code.bin');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, 'module.exports = "old";\n');
    utimesSync(file, new Date(1_000_000), new Date(1_000_000));
    expect(run(store, file).value).toBe('old');
    writeFileSync(file, 'module.exports = "new";\n');
    const after = run(store, file);
    expect(after).toEqual({ value: 'new', stats: { fromCache: 0, compiled: 1, rejected: 0 } });
    expect(run(store, file).stats.fromCache).toBe(1);
  });

  it("keeps other modules' cache byte for byte when one is compiled", () => {
    const store = join(dir, 'code.bin');
    const [a, b] = ['a.cjs', 'b.cjs'].map((n) => join(dir, n));
    writeFileSync(a, 'module.exports = "a";\n');
    writeFileSync(b, 'module.exports = "b";\n');
    run(store, a);
    const aData = readStore(store).get(a)!.data();
    expect(aData.length).toBeGreaterThan(0);
    // b compiled: a's entry is read from the old store into the new one
    expect(run(store, b).stats).toEqual({ fromCache: 0, compiled: 1, rejected: 0 });
    const entries = readStore(store);
    expect([...entries.keys()].sort()).toEqual([a, b]);
    expect(entries.get(a)!.data()).toEqual(aData);
    expect(run(store, a)).toEqual({ value: 'a', stats: { fromCache: 1, compiled: 0, rejected: 0 } });
    expect(run(store, b)).toEqual({ value: 'b', stats: { fromCache: 1, compiled: 0, rejected: 0 } });
  });

  it('neither reads nor writes a store that others may write', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    const store = join(shared, 'code.bin');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, 'module.exports = 1;\n');
    run(store, file);
    expect(existsSync(store)).toBe(false);
    // One that is there, in an open directory, is not used either.
    const own = join(dir, 'own.bin');
    run(own, file);
    writeFileSync(store, readFileSync(own), { mode: 0o600 });
    expect(readStore(store).size).toBe(0);
    expect(readStore(own).size).toBe(1);
    chmodSync(own, 0o666);
    expect(readStore(own).size).toBe(0);
  });

  it('takes a damaged store for none, and replaces it', () => {
    const store = join(dir, 'code.bin');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, 'module.exports = [1, 2, 3].length;\n');
    run(store, file);
    const whole = readFileSync(store);
    writeFileSync(store, whole.subarray(0, whole.length - 10));
    expect(readStore(store).size).toBe(0);
    expect(run(store, file)).toEqual({ value: 3, stats: { fromCache: 0, compiled: 1, rejected: 0 } });
    expect(run(store, file).stats.fromCache).toBe(1);
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache, one store per Node version', () => {
    expect(defaultStorePath({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe(
      `/x/cache/consfig/code-${process.version}-${process.arch}.bin`,
    );
    expect(defaultStorePath({ HOME: '/home/u' })).toBe(
      `/home/u/.cache/consfig/code-${process.version}-${process.arch}.bin`,
    );
  });
});

describe('the CLI with the code cache', () => {
  it('loads the runtime from the cache on its second run; configs, imports and data work from it', async () => {
    const config = join(dir, 'consfig.ts');
    const target = join(dir, 'secret');
    // A data source that runs a command loads execa by import(), from code run from the cache.
    writeFileSync(
      config,
      `import { commandSource, defineConsfig, defineHost } from '@consfig/core';
import { file } from '@consfig/properties';
export default defineConsfig({
  data: [commandSource(['sh', '-c', 'printf "for %s" "$0"', '{iden2}'])],
  hosts: [
    defineHost('cached.example', [file.hasSecretContent(${JSON.stringify(target)}, { iden1: 'k', iden2: 'v' })], {
      via: 'local',
    }),
  ],
});
`,
    );
    const env = { XDG_CACHE_HOME: join(dir, 'xdg'), DEBUG: 'consfig:code-cache' };
    const first = await consfig(['deploy', '--reporter', 'plain', '-c', config], env);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('for v');
    const compiled = /consfig:code-cache 0 from cache, (\d+) compiled, 0 refused/.exec(first.stderr);
    expect(compiled, first.stderr).not.toBeNull();
    // The five runtimes at least (core, connections, rootfs, properties, the CLI's own).
    expect(Number(compiled![1])).toBeGreaterThanOrEqual(5);
    expect(existsSync(defaultStorePath(env)!)).toBe(true);
    writeFileSync(target, 'changed behind its back');
    const second = await consfig(['deploy', '--reporter', 'plain', '-c', config], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/1 changed, 0 unchanged, 0 failed/);
    expect(readFileSync(target, 'utf8')).toBe('for v');
    // Everything came from the cache (fewer modules than the first run's, which stripped the config's types).
    const cached = /consfig:code-cache (\d+) from cache, 0 compiled, 0 refused/.exec(second.stderr);
    expect(Number(cached?.[1]), second.stderr).toBeGreaterThanOrEqual(5);
  });

  it('CONSFIG_CODE_CACHE=0 leaves it alone', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'xdg'), DEBUG: 'consfig:code-cache', CONSFIG_CODE_CACHE: '0' };
    const ran = await consfig(['--help'], env);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/consfig deploy/);
    expect(ran.stderr).not.toMatch(/code-cache/);
    expect(existsSync(join(dir, 'xdg'))).toBe(false);
  });
});
