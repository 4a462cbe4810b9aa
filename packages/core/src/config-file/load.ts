/**
 * Finding and loading the consfig: `--config FILE`, else `consfig.ts` (or
 * `consfig.config.ts`, `.config/consfig.ts`) in the working directory or above.
 */
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defineConsfig, isConsfig, type Consfig } from '../consfig.js';
import { ConsfigError, isConsfigError } from '../errors.js';
import { dynamicImport } from '../dynamic-import.js';
import { isHost } from '../host.js';
import { compiledConfigUrl, originalOf } from './compile.js';
import { programParents as ownPackageParents } from './own-packages.js';

export class ConfigError extends ConsfigError {
  override readonly code = 'CONSFIG_CONFIG_INVALID';
  constructor(
    message: string,
    readonly file: string | undefined,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? {} : { cause });
  }
}

const NAMES = [
  'consfig.ts',
  'consfig.mts',
  'consfig.cts',
  'consfig.config.ts',
  '.config/consfig.ts',
  'consfig.mjs',
  'consfig.js',
  'consfig.cjs',
];

export function findConfig(cwd: string, explicit?: string): string {
  if (explicit) {
    const file = resolve(cwd, explicit);
    const asDir = NAMES.map((n) => join(file, n)).find((f) => existsSync(f));
    if (asDir) return asDir;
    if (!existsSync(file)) throw new ConfigError(`config file ${explicit} does not exist`, file);
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(
    `no consfig found (looked for ${NAMES.join(', ')} in ${cwd} and above; use --config FILE)`,
    undefined,
  );
}

let hooksRegistered = false;

/** The module hooks: beside this module, or in config-file/ where this module is part of a bundle. */
function tsHooks(): string {
  const beside = new URL('./ts-hooks.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside.href : new URL('./config-file/ts-hooks.js', import.meta.url).href;
}

/** Whether a file is consfig's own code: in the built `dist/` of one of consfig's packages. */
function ownCode(path: string): boolean {
  for (let dir = dirname(path); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      const ours = name === 'consfig' || (typeof name === 'string' && name.startsWith('@consfig/'));
      return ours && path.startsWith(join(dir, 'dist/'));
    } catch {
      // no package.json here (or not one to read): the one above, then
    }
  }
  return false;
}

/**
 * Where in the user's files an error arose: the first stack frame outside node_modules,
 * node itself and consfig (whose frames are all an import that fails to link has, such
 * as one of a name the module does not export: where consfig imported the config).
 */
function whereInConfig(error: unknown): string | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:.*\()?((?:file:\/\/)?\/[^()]*?):(\d+):\d+\)?$/.exec(line);
    if (!m) continue;
    const path = originalOf(m[1]!.replace(/^file:\/\//, ''));
    if (path.includes('/node_modules/') || path.includes('/@consfig/') || ownCode(path)) continue;
    return `${path}:${m[2]}`;
  }
  return undefined;
}

/**
 * A CommonJS module compiled from ES syntax (a .cts config with `export default`) marks
 * its exports `__esModule` and keeps the default one as `exports.default`; import() gives
 * the whole `module.exports` as the default. Its exports as the ES module had them.
 */
function esExportsOfCommonJs(mod: Record<string, unknown>): Record<string, unknown> | undefined {
  const exports = mod.default as { __esModule?: unknown } | null | undefined;
  return exports && typeof exports === 'object' && exports.__esModule === true
    ? (exports as Record<string, unknown>)
    : undefined;
}

export async function loadConfig(file: string): Promise<Consfig> {
  let url: string | undefined;
  try {
    url = compiledConfigUrl(file);
  } catch (error) {
    throw new ConfigError(`cannot load ${file}: ${(error as Error).message}`, file, error);
  }
  if (url === undefined) {
    if (!hooksRegistered) {
      const programParents = ownPackageParents().map((p) => pathToFileURL(p).href);
      register(tsHooks(), { parentURL: import.meta.url, data: { programParents } });
      hooksRegistered = true;
    }
    url = pathToFileURL(file).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await dynamicImport<Record<string, unknown>>(url);
  } catch (error) {
    if (isConsfigError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const where = whereInConfig(error);
    // A stack that names the compiled copies (where sourceURL is not honoured) names the originals.
    if (error instanceof Error && error.stack) {
      error.stack = error.stack.replace(
        /(?:file:\/\/)?(\/[^\s():]*\/\.cache\/consfig\/[^\s():]+\.mjs)/g,
        (_all, p: string) => originalOf(p),
      );
    }
    throw new ConfigError(`cannot load ${file}: ${message}${where ? ` (at ${where})` : ''}`, file, error);
  }
  const exported = esExportsOfCommonJs(mod) ?? mod;
  const candidate =
    exported.default ?? exported.consfig ?? (exported.hosts !== undefined ? { hosts: exported.hosts } : undefined);
  if (isConsfig(candidate)) return candidate;
  if (Array.isArray(candidate) && candidate.every(isHost)) return defineConsfig({ hosts: candidate });
  if (candidate && typeof candidate === 'object' && Array.isArray((candidate as Consfig).hosts)) {
    return defineConsfig(candidate as Consfig);
  }
  throw new ConfigError(
    `${file} must export its hosts: ` +
      '`export default defineConsfig({ hosts: [...] })` or `export const hosts = [...]`',
    file,
  );
}
