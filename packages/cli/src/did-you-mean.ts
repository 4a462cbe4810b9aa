/**
 * The names a config most likely meant, where it failed on one of consfig's own that does
 * not exist: `file.hasContnet(…)` ("file.hasContnet is not a function") or an import of an
 * export the package lacks. Configs are stripped of their types, not checked, so such a
 * typo shows only when the config runs.
 */
import { createRequire } from 'node:module';

const PACKAGES = ['@consfig/core', '@consfig/connections', '@consfig/properties'] as const;

/** Levenshtein distance, ignoring case (a typo often gets the case wrong too). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[y.length]!;
}

/** The closest of `names` to `wrong`, where close enough to be what was meant. */
export function closest(wrong: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(wrong.length / 3)) + 1;
  for (const name of names) {
    const d = editDistance(wrong, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

type Exports = Record<string, unknown>;

function exportsOf(pkg: string): Exports | undefined {
  try {
    return createRequire(import.meta.url)(pkg) as Exports;
  } catch {
    return undefined;
  }
}

/**
 * A config's load error with the name most likely meant after the wrong one (`file.hasContnet
 * is not a function (did you mean file.hasContent?)`), or undefined where the error is not
 * about one of consfig's names or none is close.
 */
export function didYouMean(
  message: string,
  load: (pkg: string) => Exports | undefined = exportsOf,
): string | undefined {
  const call = /\b([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*) is not a function\b/.exec(message);
  if (call) {
    const [phrase, namespace, name] = call as unknown as [string, string, string];
    for (const pkg of PACKAGES) {
      const ns = load(pkg)?.[namespace];
      if (!ns || typeof ns !== 'object') continue;
      const meant = closest(name, Object.keys(ns));
      if (meant) return message.replace(phrase, `${phrase} (did you mean ${namespace}.${meant}?)`);
    }
    return undefined;
  }
  const imported = /module '(@consfig\/[\w-]+)' does not provide an export named '([\w$]+)'/.exec(message);
  if (imported) {
    const [phrase, pkg, name] = imported as unknown as [string, string, string];
    const exports = load(pkg);
    const meant = exports && closest(name, Object.keys(exports));
    if (meant) return message.replace(phrase, `${phrase} (did you mean ${meant}?)`);
  }
  return undefined;
}
