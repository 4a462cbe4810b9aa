/**
 * V8's code cache for the CommonJS modules the CLI loads: consfig's runtime bundles and
 * the packages they require. Node 20 has no compile cache (22's
 * `module.enableCompileCache`), and compiling ~0.5 MB of JavaScript on every start was the
 * largest part of a small deploy. Here each module's bytecode is kept after the first run
 * and handed to V8 on the next (`vm.Script`'s `cachedData`), which skips the compiling.
 *
 * One file per user and Node version holds every module's cache: its index read at start,
 * a module's data when that module loads, the whole written at exit when something was
 * compiled. It is used only where it is the user's
 * own (owned by them, writable by no one else): bytecode in it is code that will run.
 * Self-contained (Node's modules only): it must run before any of consfig is loaded.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const MAGIC = Buffer.from('consfig-code-cache 1\n');

interface Entry {
  mtimeMs: number;
  size: number;
  /** The module's cached data, read from the store when first asked for. */
  data: () => Buffer;
}

/** What one process did: modules run from the cache, compiled (none cached or stale), cache refused by V8. */
export interface CodeCacheStats {
  fromCache: number;
  compiled: number;
  rejected: number;
}

type Compile = (this: Module, content: string, filename: string) => unknown;

/** Where the store lives: `$XDG_CACHE_HOME/consfig` (or `~/.cache/consfig`), one file per Node version. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME || homedir() ? join(env.HOME || homedir(), '.cache') : undefined);
  return base ? join(base, 'consfig', `code-${process.version}-${process.arch}.bin`) : undefined;
}

/** Whether a file is this user's alone: owned by the effective user, writable by no group or other. */
function ownOnly(st: { uid: number; mode: number }): boolean {
  return st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
}

/**
 * The store's entries; an unreadable, foreign or damaged store is no store. Only the
 * index is read here, each module's data when it is loaded: a store may hold the modules
 * of several installations (one per project), of which a run loads one.
 */
export function readStore(path: string): Map<string, Entry> {
  let fd: number | undefined;
  try {
    const dir = lstatSync(dirname(path));
    if (!dir.isDirectory() || !ownOnly(dir)) return new Map();
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || !ownOnly(st)) throw new Error('not our own');
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error('not a store');
    }
    const indexLength = head.readUInt32LE(MAGIC.length);
    if (head.length + indexLength > st.size) throw new Error('cut short');
    const json = Buffer.alloc(indexLength);
    if (readSync(fd, json, 0, indexLength, head.length) !== indexLength) throw new Error('cut short');
    const index = JSON.parse(json.toString('utf8')) as [string, number, number, number][];
    const entries = new Map<string, Entry>();
    let offset = head.length + indexLength;
    const store = fd;
    for (const [file, mtimeMs, size, length] of index) {
      if (offset + length > st.size) throw new Error('cut short');
      const at = offset;
      entries.set(file, { mtimeMs, size, data: () => readAt(store, at, length) });
      offset += length;
    }
    // Left open for the data, for the life of the process (the store is replaced by
    // rename, so it is this version that is read).
    return entries;
  } catch {
    if (fd !== undefined) closeSync(fd);
    return new Map();
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const data = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, data, got, length - got, offset + got);
    if (n === 0) return data.subarray(0, got); // V8 refuses what is cut short
    got += n;
  }
  return data;
}

/** Write the store whole, by rename: a reader sees the old one or the new one. */
export function writeStore(path: string, entries: Map<string, Entry>): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || !ownOnly(st)) return;
  const index: [string, number, number, number][] = [];
  const blobs: Buffer[] = [];
  for (const [file, e] of entries) {
    const data = e.data();
    index.push([file, e.mtimeMs, e.size, data.length]);
    blobs.push(data);
  }
  const json = Buffer.from(JSON.stringify(index));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([MAGIC, length, json, ...blobs]), { mode: 0o600 });
  renameSync(tmp, path);
}

function sameFile(file: string, e: { mtimeMs: number; size: number }): boolean {
  try {
    const st = statSync(file);
    return st.mtimeMs === e.mtimeMs && st.size === e.size;
  } catch {
    return false;
  }
}

export class CodeCache {
  readonly stats: CodeCacheStats = { fromCache: 0, compiled: 0, rejected: 0 };
  private readonly entries: Map<string, Entry>;
  /** Modules compiled in this process, their cache taken at save (with the functions that ran by then). */
  private readonly fresh = new Map<string, { script: Script; mtimeMs: number; size: number }>();
  private original: Compile | undefined;

  constructor(readonly storePath: string) {
    this.entries = readStore(storePath);
  }

  /** From now on, CommonJS modules compile through the cache (all but configs' compiled copies). */
  install(): void {
    const proto = Module.prototype as unknown as { _compile: Compile };
    const original = proto._compile;
    this.original = original;
    const cache = this;
    proto._compile = function (content, filename) {
      // A hashbang is valid only at a script's very start, which wrapping moves.
      if (filename.includes('/node_modules/.cache/') || content.startsWith('#!')) {
        return original.call(this, content, filename);
      }
      return cache.run(this, content, filename);
    };
  }

  uninstall(): void {
    if (this.original) (Module.prototype as unknown as { _compile: Compile })._compile = this.original;
    this.original = undefined;
  }

  private run(module: Module, content: string, filename: string): unknown {
    const st = statSync(filename);
    const known = this.entries.get(filename);
    const cachedData = known && known.mtimeMs === st.mtimeMs && known.size === st.size ? known.data() : undefined;
    const script = new Script(Module.wrap(content), { filename, cachedData });
    if (cachedData && !script.cachedDataRejected) {
      this.stats.fromCache++;
    } else {
      if (cachedData) this.stats.rejected++;
      else this.stats.compiled++;
      this.fresh.set(filename, { script, mtimeMs: st.mtimeMs, size: st.size });
    }
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename));
  }

  /** Write the store if this process compiled anything; entries of files since changed or gone are dropped. */
  save(): void {
    if (this.fresh.size === 0) return;
    const next = new Map<string, Entry>();
    for (const [file, e] of this.entries) if (!this.fresh.has(file) && sameFile(file, e)) next.set(file, e);
    for (const [file, { script, mtimeMs, size }] of this.fresh)
      next.set(file, { mtimeMs, size, data: () => script.createCachedData() });
    this.fresh.clear();
    writeStore(this.storePath, next);
  }
}
