/**
 * The id of a package's build: a hash of its runtime bundle, which scripts/bundle.mjs
 * writes beside it (`dist/build-id`), for what must not mix the code of two builds (a
 * server an earlier run left, talked to by this one). Read once a process; undefined
 * where the code runs from its sources (the tests), whose callers then hash the code.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ids = new Map<string, string | undefined>();

/** The build id of the package whose module is `moduleUrl` (its `import.meta.url`). */
export function buildIdOf(moduleUrl: string): string | undefined {
  const file = join(dirname(fileURLToPath(moduleUrl)), 'build-id');
  if (!ids.has(file)) {
    let id: string | undefined;
    try {
      id = readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      // no build beside it: run from the sources
    }
    ids.set(file, id);
  }
  return ids.get(file);
}

/** core's own build id (its agent's program and front are in it). */
export function coreBuildId(): string | undefined {
  return buildIdOf(import.meta.url);
}
