/**
 * `import()` for code that may run from V8's code cache. The CLI compiles consfig's
 * CommonJS runtime with cached bytecode (packages/cli/src/code-cache.ts), and in Node 20
 * a script compiled from cached data has lost the callback `import()` needs (it throws
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). The CLI puts an importer of its own, an ES
 * module's `import()`, under this symbol; loaded any other way, `import()` works as is.
 */
export const IMPORTER = Symbol.for('consfig.import');

type Importer = (specifier: string) => Promise<unknown>;

/** Import an absolute file URL or a built-in module (bare names resolve from the importer's place). */
export function dynamicImport<T>(specifier: string): Promise<T> {
  const importer = (globalThis as { [IMPORTER]?: Importer })[IMPORTER];
  return (importer ? importer(specifier) : import(specifier)) as Promise<T>;
}
