import type { BootstrapOptions } from './options.js';

/**
 * A way to build a root filesystem. Supporting another distribution means one more
 * small module that says which program it needs and what argv builds a tree.
 */
export interface Bootstrapper {
  readonly name: string;
  /** The program that must exist on the building machine. */
  readonly program: string;
  /** Distributions it builds (for refusing a host whose OS it cannot make). */
  readonly distributions: readonly string[];
  /** Writes a compressed tarball by itself (else it builds a directory to be packed). */
  readonly writesTarball: boolean;
  /** argv that builds into `target` (a directory, or a `.tar.zst` if writesTarball). */
  argv(options: BootstrapOptions, target: string): string[];
  /** Environment for it (a proxy, say). */
  env?(options: BootstrapOptions): Record<string, string>;
}
