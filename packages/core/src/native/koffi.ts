/**
 * koffi, for the system calls Node lacks. Loaded on first use and only then: its native
 * module takes ~3.5 ms to map. koffi's own entry point spends another ~9 ms working out
 * the platform (it reads Node's ELF header to tell glibc from musl); the prebuilt module
 * of this glibc platform is tried first, and koffi's entry point when that fails.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';

export type Koffi = typeof KoffiModule;

let loaded: Koffi | null | undefined;

function load(): Koffi | null {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('koffi');
  } catch {
    return null;
  }
  const fromKoffi = createRequire(main);
  const { platform, arch } = process;
  try {
    // koffi's per-platform package, as its entry point would pick it on glibc.
    return fromKoffi(`@koromix/koffi-${platform}-${arch}/${platform}_${arch}/koffi.node`) as Koffi;
  } catch {
    try {
      return fromKoffi('koffi') as Koffi;
    } catch {
      return null;
    }
  }
}

/** koffi, or undefined where it cannot be loaded (no build for this platform). */
export function koffi(): Koffi | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/** The C library's functions, bound by their C declarations; undefined without koffi or glibc. */
export function libcFunctions<T extends Record<string, string>>(
  declarations: T,
): { [K in keyof T]: (...args: unknown[]) => number } | undefined {
  const k = koffi();
  if (!k) return undefined;
  try {
    const lib = k.load('libc.so.6');
    const bound: Record<string, (...args: unknown[]) => number> = {};
    for (const [name, declaration] of Object.entries(declarations)) bound[name] = lib.func(declaration);
    return bound as { [K in keyof T]: (...args: unknown[]) => number };
  } catch {
    return undefined;
  }
}
