/**
 * Bundling JavaScript or TypeScript for the far end (esbuild): one CommonJS file that
 * needs nothing but Node's own modules. Bundles are cached on the deploying machine by
 * the content of everything that went into them, so a deploy whose code did not change
 * does not bundle again (nor load esbuild).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConsfigError, sha256Hex } from '@consfig/core/property';

export interface Bundle {
  code: string;
  /** sha256 of the code. */
  hash: string;
}

export interface BundleSource {
  /** The entry module's text (it imports what the bundle runs). */
  contents: string;
  /** Where its relative imports resolve from. */
  resolveDir: string;
}

interface CacheEntry {
  inputs: string[];
  inputsHash: string;
  hash: string;
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'consfig', 'bundles');
}

function hashInputs(inputs: readonly string[]): string | undefined {
  try {
    return sha256Hex(...inputs.flatMap((p) => [p, readFileSync(p)]));
  } catch {
    return undefined; // an input is gone: bundle again
  }
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

let esbuildVersion: string | undefined;

/** Bundle `source` (cached by the content of all it imports). */
export async function bundle(source: BundleSource): Promise<Bundle> {
  const require = createRequire(import.meta.url);
  esbuildVersion ??= (require('esbuild/package.json') as { version: string }).version;
  const dir = cacheDir();
  const key = sha256Hex(esbuildVersion, source.resolveDir, source.contents).slice(0, 32);
  const entryFile = join(dir, `${key}.json`);
  if (existsSync(entryFile)) {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as CacheEntry;
    const codeFile = join(dir, `${entry.hash}.cjs`);
    if (hashInputs(entry.inputs) === entry.inputsHash && existsSync(codeFile)) {
      return { code: readFileSync(codeFile, 'utf8'), hash: entry.hash };
    }
  }
  const esbuild = require('esbuild') as typeof import('esbuild');
  let result;
  try {
    result = await esbuild.build({
      stdin: { contents: source.contents, resolveDir: source.resolveDir, sourcefile: 'consfig-entry.ts', loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      // consfig's packages as tsc's per-file ES modules (not their one-file runtime): tree-shaken
      conditions: ['consfig-source'],
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
    });
  } catch (error) {
    const errors =
      (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new ConsfigError(`cannot bundle code for the far end: ${first?.text ?? String(error)}${where}`);
  }
  const code = result.outputFiles[0]!.text;
  const hash = sha256Hex(code);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.startsWith('<'))
    .map((p) => resolve(p));
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, `${hash}.cjs`), code);
  writeAtomic(entryFile, JSON.stringify({ inputs, inputsHash: hashInputs(inputs) ?? '', hash } satisfies CacheEntry));
  return { code, hash };
}

/** Where a module of this package is, for bundles that import it (src in tests, dist installed). */
export function ownModule(name: string): string {
  const here = dirname(new URL(import.meta.url).pathname);
  const ts = join(here, `${name}.ts`);
  return existsSync(ts) ? ts : join(here, `${name}.js`);
}
