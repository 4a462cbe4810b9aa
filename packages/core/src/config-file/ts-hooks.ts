/**
 * Module hooks (module.register) that let Node 20 import a TypeScript consfig without a
 * build step: `.ts` files are stripped of types by sucrase, and `./x.js` imports fall
 * back to `./x.ts` as TypeScript's NodeNext resolution allows. Modules stay native ESM,
 * so the config and the CLI share one copy of @consfig/core.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'sucrase';

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string; format?: string }>;
type Load = (url: string, context: unknown) => Promise<{ format: string; source?: string | Buffer }>;

const TS = /\.(?:ts|mts)$/;
/** consfig's own packages (own-packages.ts; not imported: hooks are a module of their own). */
const OWN_PACKAGE = /^@consfig\/[a-z0-9-]+(?:\/.*)?$/;

/** Where the running program resolves from (own-packages.ts's programParents), as URLs. */
let programParents: string[] = [];

export function initialize(data: { programParents?: string[] } | undefined): void {
  programParents = data?.programParents ?? [];
}

export async function resolve(specifier: string, context: { parentURL?: string }, next: Resolve) {
  try {
    return await next(specifier, context);
  } catch (error) {
    // consfig's own packages, where none are installed beside the config: the program's
    if (OWN_PACKAGE.test(specifier)) {
      for (const parentURL of programParents) {
        try {
          return await next(specifier, { ...context, parentURL });
        } catch {
          // not from there
        }
      }
      throw error;
    }
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (!relative || !context.parentURL || !TS.test(context.parentURL)) throw error;
    const candidates = /\.m?js$/.test(specifier)
      ? [specifier.replace(/\.(m?)js$/, '.$1ts')]
      : [`${specifier}.ts`, `${specifier}/index.ts`];
    for (const candidate of candidates) {
      try {
        return await next(candidate, context);
      } catch {
        // try the next
      }
    }
    throw error;
  }
}

export async function load(url: string, context: unknown, next: Load) {
  if (!url.startsWith('file:') || !TS.test(url) || url.includes('/node_modules/')) return next(url, context);
  const filePath = fileURLToPath(url);
  const source = await readFile(filePath, 'utf8');
  const { code } = transform(source, {
    transforms: ['typescript'],
    filePath,
    disableESTransforms: true,
    keepUnusedImports: false,
  });
  return { format: 'module', source: `${code}\n//# sourceURL=${url}`, shortCircuit: true };
}
