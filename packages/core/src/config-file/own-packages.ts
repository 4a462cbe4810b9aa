/**
 * consfig's own packages for a config that has none installed beside it: a config in a
 * directory of its own, deployed by a consfig installed elsewhere (`npx consfig`, a
 * global install). Its `@consfig/...` imports then resolve to the copies the running
 * program is made of, so it needs no `npm install` and shares the program's one copy of
 * @consfig/core. A config with its own installed keeps using those.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether a node_modules at or above `dir` holds the package of `specifier`. */
export function installedAt(dir: string, specifier: string): boolean {
  const name = specifier.split('/').slice(0, 2).join('/');
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules', name, 'package.json'))) return true;
    if (dirname(d) === d) return false;
  }
}

/**
 * Files to resolve from as the running program does: its main module (the CLI, or a
 * program embedding consfig), then this package itself (which names itself by its own
 * `exports`; in an npm install its siblings are beside it).
 */
export function programParents(): string[] {
  const parents: string[] = [];
  const main = process.argv[1];
  if (main) {
    try {
      parents.push(realpathSync(main));
    } catch {
      // a main that is no file (node -e): only this package then
    }
  }
  parents.push(fileURLToPath(import.meta.url));
  return parents;
}

/** The file the running program imports for `specifier`, or undefined where it has none. */
export function programsCopy(specifier: string): string | undefined {
  for (const parent of programParents()) {
    try {
      // require's entry (.cjs); imports want its ES twin beside it (scripts/bundle.mjs):
      // both are views of one runtime, and importing the .cjs would find no named exports.
      const file = createRequire(parent).resolve(specifier);
      const twin = file.replace(/\.cjs$/, '.mjs');
      return twin !== file && existsSync(twin) ? twin : file;
    } catch {
      // not from there
    }
  }
  return undefined;
}
