/**
 * Finding and loading a consfig file from a program (what the CLI does): TypeScript with
 * relative imports of other .ts files, found from a directory below, and the errors.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// The built core: loading registers its module hooks by their built path, as a program's would.
import { attrs, ConfigError, findConfig, loadConfig } from '../../dist/entry/index.mjs';

// The config imports the built core by its path: a temp directory has no node_modules.
const core = pathToFileURL(fileURLToPath(new URL('../../dist/entry/index.mjs', import.meta.url))).href;
const dir = mkdtempSync(join(tmpdir(), 'consfig-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

describe('findConfig and loadConfig', () => {
  it('find consfig.ts from a directory below and load it, types stripped, with its relative .ts imports', async () => {
    const root = project('typed', {
      'consfig.ts': `import { defineConsfig, defineHost } from '${core}';
import { webName } from './lib/names.js';
const port: number = 8080;
export default defineConsfig({ hosts: [defineHost(webName(port), [], { via: 'local' })] });
`,
      'lib/names.ts': `export function webName(port: number): string { return \`web\${port}.example\`; }\n`,
      'deep/down/.keep': '',
      // (a node_modules above the config: compiled once into its .cache; elsewhere module hooks)
      'node_modules/.keep': '',
    });
    const file = findConfig(join(root, 'deep/down'));
    expect(file).toBe(join(root, 'consfig.ts'));
    const config = await loadConfig(file);
    expect(config.hosts.map((h) => [h.name, h.via])).toEqual([['web8080.example', 'local']]);
    expect(readdirSync(join(root, 'node_modules/.cache/consfig')).length).toBeGreaterThan(0);
    // a directory given explicitly is looked into
    expect(findConfig('/', root)).toBe(join(root, 'consfig.ts'));
  });

  it('finds consfig.mts, .cts and .cjs, each with __dirname and __filename (ES modules: import.meta too)', async () => {
    const mts = project('mts', {
      'consfig.mts': `import { defineHost } from '${core}';
const here: string = __dirname + '|' + import.meta.dirname + '|' + __filename;
export const hosts = [defineHost('m.example', [], { desc: here })];
`,
      'node_modules/.keep': '',
    });
    const loaded = await loadConfig(findConfig(mts));
    expect(loaded.hosts[0]!.attrs.first(attrs.desc)).toBe(`${mts}|${mts}|${mts}/consfig.mts`);
    const cts = project('cts', {
      'consfig.cts': `const { defineHost } = require(${JSON.stringify(fileURLToPath(core))});
const { suffix } = require('./lib/suffix.cjs');
const name: string = 'c' + suffix;
module.exports = { hosts: [defineHost(name, [], { desc: __dirname })] };
`,
      'lib/suffix.cts': `export const suffix: string = '.example';\n`,
      'node_modules/.keep': '',
    });
    expect(findConfig(cts)).toBe(join(cts, 'consfig.cts'));
    const c = await loadConfig(findConfig(cts));
    expect([c.hosts[0]!.name, c.hosts[0]!.attrs.first(attrs.desc)]).toEqual(['c.example', cts]);
    const cjs = project('cjs', {
      'consfig.cjs': `const { defineHost } = require(${JSON.stringify(fileURLToPath(core))});
module.exports = { hosts: [defineHost('j.example', [], { desc: __dirname })] };
`,
    });
    const j = await loadConfig(findConfig(cjs));
    expect([j.hosts[0]!.name, j.hosts[0]!.attrs.first(attrs.desc)]).toEqual(['j.example', cjs]);
  });

  it('loads a .cts config written with ES syntax: export default, or export const hosts', async () => {
    const coreCjs = JSON.stringify(fileURLToPath(core).replace(/\.mjs$/, '.cjs'));
    const byDefault = project('cts-default', {
      'consfig.cts': `import { defineConsfig, defineHost } from ${coreCjs};
export default defineConsfig({ hosts: [defineHost('d.example', [], { desc: __dirname })] });
`,
      'node_modules/.keep': '',
    });
    const d = await loadConfig(findConfig(byDefault));
    expect([d.hosts.map((h) => h.name), d.hosts[0]!.attrs.first(attrs.desc)]).toEqual([['d.example'], byDefault]);
    const byName = project('cts-named', {
      'consfig.cts': `import { defineHost } from ${coreCjs};
export const hosts = [defineHost('n.example', [])];
`,
      'node_modules/.keep': '',
    });
    expect((await loadConfig(findConfig(byName))).hosts.map((h) => h.name)).toEqual(['n.example']);
  });

  it('imports consfig by its package names where none is installed beside it, by hooks and by the cache', async () => {
    const text =
      `import { defineConsfig, defineHost } from '@consfig/core';\n` +
      `export default defineConsfig({ hosts: [defineHost('own.example', [])] });\n`;
    // no node_modules above: compiled into the user's cache, unless others could write that
    const userCache = join(dir, 'xdg-cache');
    const hooked = project('own-hooks', { 'consfig.ts': text });
    const away = project('own-away', { 'consfig.ts': text });
    mkdirSync(join(userCache, 'consfig/configs'), { recursive: true });
    chmodSync(join(userCache, 'consfig/configs'), 0o777);
    const loadWithCache = async (root: string) => {
      const saved = process.env.XDG_CACHE_HOME;
      process.env.XDG_CACHE_HOME = userCache;
      try {
        return (await loadConfig(findConfig(root))).hosts.map((h) => h.name);
      } finally {
        if (saved === undefined) delete process.env.XDG_CACHE_HOME;
        else process.env.XDG_CACHE_HOME = saved;
      }
    };
    expect(await loadWithCache(hooked)).toEqual(['own.example']);
    expect(readdirSync(join(userCache, 'consfig/configs'))).toEqual([]);
    chmodSync(join(userCache, 'consfig/configs'), 0o700);
    expect(await loadWithCache(away)).toEqual(['own.example']);
    const configs = join(userCache, 'consfig/configs');
    const awayFiles = readdirSync(configs);
    expect(awayFiles.filter((f) => f.startsWith('consfig.') && f.endsWith('.mjs'))).toHaveLength(1);
    // copies unused for a month go when a config is compiled anew; one in use is kept
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    for (const f of awayFiles) utimesSync(join(configs, f), longAgo, longAgo);
    writeFileSync(join(configs, 'gone.0123456789abcdef.mjs'), '');
    utimesSync(join(configs, 'gone.0123456789abcdef.mjs'), longAgo, longAgo);
    expect(await loadWithCache(away)).toEqual(['own.example']);
    expect(readdirSync(configs).sort()).toEqual([...awayFiles, 'gone.0123456789abcdef.mjs'].sort());
    writeFileSync(join(away, 'consfig.ts'), text.replace('own.example', 'own2.example'));
    expect(await loadWithCache(away)).toEqual(['own2.example']);
    const now = readdirSync(configs);
    expect(now).not.toContain('gone.0123456789abcdef.mjs');
    expect(awayFiles.every((f) => now.includes(f))).toBe(true);
    writeFileSync(join(away, 'consfig.ts'), text);
    // one that imports another package is not: that would resolve from the cache, not from its place
    const foreign = project('own-foreign', {
      'consfig.ts': `import { x } from 'no-such-package-here';\n${text}export const y = x;\n`,
    });
    const before = readdirSync(configs);
    await expect(loadWithCache(foreign)).rejects.toThrow(/Cannot find package 'no-such-package-here'/);
    expect(readdirSync(configs)).toEqual(before);
    const cached = project('own-cached', { 'consfig.ts': text, 'node_modules/.keep': '' });
    expect((await loadConfig(findConfig(cached))).hosts.map((h) => h.name)).toEqual(['own.example']);
    const cacheDir = join(cached, 'node_modules/.cache/consfig');
    const files = (ext: string) => readdirSync(cacheDir).filter((f) => f.endsWith(ext));
    // the compiled copy imports the running program's core by its path
    expect(files('.mjs').map((f) => readFileSync(join(cacheDir, f), 'utf8').includes(`'${core}'`))).toEqual([true]);
    // a cache an older consfig wrote (no list of packages) is brought up to date, once
    for (const f of files('.json')) writeFileSync(join(cacheDir, f), '{"specifiers":[]}');
    await loadConfig(findConfig(cached));
    const metas = files('.json').map((f) => JSON.parse(readFileSync(join(cacheDir, f), 'utf8')) as unknown);
    expect(metas).toEqual([{ specifiers: [], packages: ['@consfig/core'], foreign: [] }]);
  });

  it('takes `export const hosts` too', async () => {
    const root = project('plain', {
      'consfig.mjs': `import { defineHost } from '${core}';\nexport const hosts = [defineHost('a.example', [])];\n`,
    });
    expect((await loadConfig(findConfig(root))).hosts.map((h) => h.name)).toEqual(['a.example']);
  });

  it('throws ConfigError naming the file: none found, missing, broken, exporting no hosts', async () => {
    const empty = project('empty', { '.keep': '' });
    expect(() => findConfig(empty)).toThrow(
      /^no consfig found \(looked for consfig\.ts, .* in .*empty and above; use --config FILE\)$/,
    );
    expect(() => findConfig(empty, 'nope.ts')).toThrow(ConfigError);
    const broken = project('broken', {
      'consfig.ts': `import { missing } from './not-there.js';\nexport default missing;\n`,
      'node_modules/.keep': '',
    });
    const error = await loadConfig(findConfig(broken)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONSFIG_CONFIG_INVALID', file: join(broken, 'consfig.ts') });
    // the user's files, never the cache's
    expect((error as Error).message).toBe(
      `cannot load ${broken}/consfig.ts: ${broken}/consfig.ts imports ./not-there.js, which does not exist ` +
        `(looked for ${broken}/not-there.ts, ${broken}/not-there.js)`,
    );
    const throwing = project('throwing', {
      'consfig.ts': `import { check } from './lib/check.js';\nconst n: number = 3;\ncheck(n);\nexport default [];\n`,
      'lib/check.ts': `export function check(n: number): void {\n  if (n > 2) throw new Error('too many');\n}\n`,
      'node_modules/.keep': '',
    });
    const thrown = await loadConfig(findConfig(throwing)).catch((e: unknown) => e);
    expect((thrown as Error).message).toBe(
      `cannot load ${throwing}/consfig.ts: too many (at ${throwing}/lib/check.ts:2)`,
    );
    expect(((thrown as Error).cause as Error).stack).toContain(`${join(throwing, 'consfig.ts')}:3:`);
    const nothing = project('nothing', { 'consfig.ts': 'export const answer: number = 42;\n' });
    await expect(loadConfig(findConfig(nothing))).rejects.toThrow(
      /consfig\.ts must export its hosts: `export default defineConsfig\(\{ hosts: \[\.\.\.\] \}\)`/,
    );
  });
});
