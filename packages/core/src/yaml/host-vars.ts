/**
 * Per-host values kept as Ansible users keep them: `group_vars/all.yml`,
 * `group_vars/GROUP.yml` and `host_vars/HOST.yml` (`.yaml` too) below one directory.
 * A host's values are those files merged, later winning per top-level key as Ansible's
 * default does (all, then its groups in the order given, then the host), and checked
 * against a zod schema: a wrong value is an error naming the file, line and key it came
 * from; a missing one names the files that could have had it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ZodType, ZodTypeDef } from 'zod';
import { displayPath, readYamlFile, issueError, YamlFileError, type YamlFile } from './document.js';

export interface HostVars<T> {
  /** The values of `host`, a member of `groups` (besides `all`). */
  (host: string, groups?: readonly string[]): T;
  /** The directory read. */
  readonly dir: string;
}

function firstExisting(dir: string, name: string): string | undefined {
  return ['.yml', '.yaml'].map((ext) => join(dir, name + ext)).find((f) => existsSync(f));
}

function mapping(file: YamlFile): Record<string, unknown> {
  const data = file.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new YamlFileError(
      `${displayPath(file.file)}:1: vars must be a mapping of names to values`,
      file.file,
      1,
      undefined,
    );
  }
  return data as Record<string, unknown>;
}

/**
 * `hostVars(dir, schema)` reads `dir` (a path, relative to the working directory, or a
 * file: URL such as `new URL('./inventory', import.meta.url)`); each file is read once.
 */
export function hostVars<T>(dir: string | URL, schema: ZodType<T, ZodTypeDef, unknown>): HostVars<T> {
  const root = typeof dir === 'string' ? resolve(dir) : fileURLToPath(dir);
  const cache = new Map<string, YamlFile | undefined>();
  const read = (sub: string, name: string): YamlFile | undefined => {
    if (name.includes('/') || name.startsWith('.')) {
      throw new YamlFileError(
        `${sub} name ${JSON.stringify(name)} cannot name a file`,
        join(root, sub),
        undefined,
        undefined,
      );
    }
    const key = `${sub}/${name}`;
    if (!cache.has(key)) {
      const file = firstExisting(join(root, sub), name);
      cache.set(key, file === undefined ? undefined : readYamlFile(file));
    }
    return cache.get(key);
  };
  const vars = (host: string, groups: readonly string[] = []): T => {
    const layers = [read('group_vars', 'all'), ...groups.map((g) => read('group_vars', g)), read('host_vars', host)];
    const merged: Record<string, unknown> = {};
    const from = new Map<string, YamlFile>();
    for (const layer of layers) {
      if (!layer) continue;
      for (const [k, v] of Object.entries(mapping(layer))) {
        merged[k] = v;
        from.set(k, layer);
      }
    }
    const result = schema.safeParse(merged);
    if (result.success) return result.data;
    const issue = result.error.issues[0]!;
    const top = issue.path[0];
    const source = typeof top === 'string' ? from.get(top) : undefined;
    const names = ['group_vars/all', ...groups.map((g) => `group_vars/${g}`), `host_vars/${host}`];
    const lookedIn = `${displayPath(root)}/{${names.map((f) => `${f}.yml`).join(',')}} for ${host}`;
    const error = issueError(issue, source, lookedIn);
    error.host = host;
    throw error;
  };
  return Object.assign(vars, { dir: root });
}
