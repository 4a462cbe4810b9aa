/**
 * The fast way to load a TypeScript consfig: strip its types once (sucrase), keep the
 * result in `node_modules/.cache/consfig/`, and import plain ESM from there. Module
 * hooks would cost a worker thread (~70 ms) on every run; a cache hit costs a hash.
 *
 * Relative imports of other .ts files are compiled the same way and pointed at their
 * cached copies; other relative imports are pointed at the original files, and
 * `import.meta.url`/`dirname`/`filename` keep naming the original, so a config behaves
 * as if loaded in place. Bare imports resolve from the cache directory, which sits in
 * the nearest `node_modules` above the config, so they find the same packages; those of
 * consfig's own packages not installed there point at the running program's copies.
 * A config with no `node_modules` above it (a directory of its own, deployed by a global
 * or `npx` consfig) is cached in the user's cache directory instead, where it imports
 * nothing but Node's modules and consfig's own: any other package would resolve from
 * there and not from the config's place.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fnv1a64Hex } from '../digest.js';
import { VERSION } from '../version.js';
import { installedAt, programsCopy } from './own-packages.js';

const TS = /\.(?:ts|mts|cts)$/;
/** Static and dynamic import/export specifiers (and requires) that are relative paths. */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]*)\2/g;
/** The same, of consfig's own packages. */
const OWN_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(@consfig\/[^'"\n]*)\2/g;
/** The same, of any name that is no path (packages, Node's modules, URLs). */
const BARE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n./][^'"\n]*)\2/g;

interface Meta {
  /** Relative specifiers the compiled code imports. */
  specifiers: string[];
  /** Its imports of consfig's own packages. */
  packages?: string[];
  /** Its imports of other packages (not Node's modules, not URLs). */
  foreign?: string[];
}

/** A package name, not one of Node's modules, a URL or consfig's own. */
function isForeign(specifier: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !specifier.startsWith('@consfig/') && !isBuiltin(specifier);
}

/** A config the user's cache cannot hold: it imports packages, which must resolve from its place. */
class ImportsPackages extends Error {}

/** Nearest `node_modules` directory at or above `dir`. */
function nearestNodeModules(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const candidate = join(d, 'node_modules');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where a relative specifier points, trying .ts for .js as TypeScript's NodeNext does. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = /\.[mc]?js$/.test(base)
    ? [base.replace(/\.([mc]?)js$/, '.$1ts'), base]
    : TS.test(base)
      ? [base]
      : [base, `${base}.ts`, join(base, 'index.ts'), `${base}.js`];
  return candidates.find(isFile);
}

const DAY_MS = 86_400_000;
/** Compiled copies and their notes unused this long are removed, when a config is compiled anew. */
const UNUSED_MS = 30 * DAY_MS;

/** How long ago a file was last written, or undefined where there is none. */
function mtimeAge(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? Date.now() - st.mtimeMs : undefined;
  } catch {
    return undefined;
  }
}

function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // a cache that cannot be touched may be swept: the copy is then compiled again
  }
}

/** Each edit of a config leaves a compiled copy: those unused for a month go. */
function sweep(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!/\.(?:mjs|cjs|json|tmp)$/.test(name)) continue;
    const age = mtimeAge(join(dir, name));
    if (age !== undefined && age > UNUSED_MS) rmSync(join(dir, name), { force: true });
  }
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

let sucraseTransform: typeof import('sucrase').transform | undefined;

/** Types stripped; a .cts file (CommonJS TypeScript) also has its imports made requires. */
function strip(source: string, filePath: string): string {
  sucraseTransform ??= (createRequire(import.meta.url)('sucrase') as typeof import('sucrase')).transform;
  const transforms: ('typescript' | 'imports')[] = filePath.endsWith('.cts')
    ? ['typescript', 'imports']
    : ['typescript'];
  return sucraseTransform(source, { transforms, filePath, disableESTransforms: true }).code;
}

/**
 * What a config may use wherever it was loaded from: `import.meta.url`/`dirname`/
 * `filename` in ES modules, and `__dirname`/`__filename` in both kinds (as vite gives).
 */
function inPlace(code: string, file: string, commonjs: boolean): string {
  const url = pathToFileURL(file).href;
  let out = code;
  if (commonjs) {
    out = out.replace(/\b__filename\b/g, JSON.stringify(file)).replace(/\b__dirname\b/g, JSON.stringify(dirname(file)));
  } else {
    out = out
      .replace(/\bimport\.meta\.url\b/g, JSON.stringify(url))
      .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(file))
      .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(file)));
    // Declared only where used and not declared by the config itself.
    const declares = (name: string) => new RegExp(`\\b(?:const|let|var|function)\\s+${name}\\b`).test(out);
    if (/\b__filename\b/.test(out) && !declares('__filename'))
      out = `const __filename = ${JSON.stringify(file)};${out}`;
    if (/\b__dirname\b/.test(out) && !declares('__dirname'))
      out = `const __dirname = ${JSON.stringify(dirname(file))};${out}`;
  }
  return out;
}

/** Each compiled copy's original file, so that stack traces can name the user's files. */
const originals = new Map<string, string>();

/** The user's file a cached compiled copy stands for (or the path itself). */
export function originalOf(path: string): string {
  return originals.get(path) ?? path;
}

/** A relative import of a config file that names no file. */
export class MissingImportError extends Error {
  constructor(specifier: string, importer: string) {
    const base = resolve(dirname(importer), specifier);
    const tried = /\.[mc]?js$/.test(base) ? [base.replace(/\.([mc]?)js$/, '.$1ts'), base] : [base, `${base}.ts`];
    super(`${importer} imports ${specifier}, which does not exist (looked for ${tried.join(', ')})`);
  }
}

class ConfigCompiler {
  private readonly done = new Map<string, string>();
  private readonly active = new Set<string>();

  constructor(
    private readonly cacheDir: string,
    /**
     * Whether the cache is away from the config (the user's), where only consfig's and
     * Node's imports resolve as they would at the config's place.
     */
    private readonly away: boolean,
  ) {}

  /** Compile `file` (and its local TS imports); returns the cached module's path. */
  compile(file: string): string {
    const known = this.done.get(file);
    if (known) return known;
    if (this.active.has(file)) throw new Error(`import cycle through ${file}`);
    this.active.add(file);
    try {
      const source = readFileSync(file, 'utf8');
      const sourceKey = fnv1a64Hex(VERSION, file, source);
      const metaPath = join(this.cacheDir, `${sourceKey}.json`);
      let code: string | undefined;
      let meta: Meta;
      const cached = isFile(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as Meta) : undefined;
      // (one written before it listed packages is written again)
      if (cached?.packages && cached.foreign) {
        meta = cached;
      } else {
        code = strip(source, file);
        const found = (re: RegExp) => [...new Set([...code!.matchAll(re)].map((m) => m[3]!))];
        meta = {
          specifiers: found(RELATIVE_SPECIFIER),
          packages: found(OWN_SPECIFIER),
          foreign: found(BARE_SPECIFIER).filter(isForeign),
        };
      }
      if (this.away && meta.foreign!.length > 0) throw new ImportsPackages();
      const targets = new Map<string, string>();
      for (const specifier of meta.specifiers) {
        const target = resolveRelative(file, specifier);
        // Node's own message would name the cache, not the user's files.
        if (!target) throw new MissingImportError(specifier, file);
        targets.set(specifier, TS.test(target) ? this.compile(target) : target);
      }
      // Those not installed beside the config: the running program's copies.
      const own = new Map<string, string>();
      for (const specifier of meta.packages ?? []) {
        const target = installedAt(dirname(file), specifier) ? undefined : programsCopy(specifier);
        if (target) own.set(specifier, target);
      }
      const outKey = fnv1a64Hex(sourceKey, ...targets.values(), ...own.values());
      const commonjs = file.endsWith('.cts');
      const out = join(this.cacheDir, `${basename(file).replace(TS, '')}.${outKey}.${commonjs ? 'cjs' : 'mjs'}`);
      const age = mtimeAge(out);
      if (age === undefined) {
        sweep(this.cacheDir);
        code ??= strip(source, file);
        const url = pathToFileURL(file).href;
        const pointAt =
          (to: Map<string, string>) =>
          (all: string, lead: string, quote: string, specifier: string): string => {
            const target = to.get(specifier);
            // require() takes paths; import, URLs
            const where = target && (lead.startsWith('require') ? target : pathToFileURL(target).href);
            return where ? `${lead}${quote}${where}${quote}` : all;
          };
        const rewritten = code.replace(RELATIVE_SPECIFIER, pointAt(targets)).replace(OWN_SPECIFIER, pointAt(own));
        // One line, so that line numbers stay those of the original.
        writeAtomic(out, `${inPlace(rewritten, file, commonjs)}\n//# sourceURL=${url}\n`);
      } else if (age > DAY_MS) {
        // in use: kept from the sweep
        touch(out);
        touch(metaPath);
      }
      // (also where the output was there: else every run would strip the source again)
      if (!cached?.packages || !cached.foreign) writeAtomic(metaPath, JSON.stringify(meta));
      this.done.set(file, out);
      originals.set(out, file);
      return out;
    } finally {
      this.active.delete(file);
    }
  }
}

/** `$XDG_CACHE_HOME/consfig/configs` (or under `~/.cache`), made and used only where it is the user's alone. */
function userCacheDir(): string | undefined {
  const home = process.env.HOME || homedir();
  const base = process.env.XDG_CACHE_HOME || (home ? join(home, '.cache') : undefined);
  if (!base) return undefined;
  const dir = join(base, 'consfig', 'configs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // its files are code that will run
  const st = lstatSync(dir);
  return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0 ? dir : undefined;
}

/**
 * The URL to import for `file`: its cached compiled copy, or undefined when this way
 * does not apply (not TypeScript, an import cycle, a read-only cache, packages imported
 * by a config with no node_modules above it) and module hooks must do it instead.
 */
export function compiledConfigUrl(file: string): string | undefined {
  if (!TS.test(file)) return undefined;
  try {
    const nodeModules = nearestNodeModules(dirname(file));
    const cacheDir = nodeModules ? join(nodeModules, '.cache', 'consfig') : userCacheDir();
    if (!cacheDir) return undefined;
    mkdirSync(cacheDir, { recursive: true });
    return pathToFileURL(new ConfigCompiler(cacheDir, !nodeModules).compile(file)).href;
  } catch (error) {
    if (error instanceof MissingImportError) throw error;
    return undefined;
  }
}
