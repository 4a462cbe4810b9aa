/**
 * @consfig/rootfs: building root filesystems (bootstrappers and a cache), and shifting
 * a tree's ids into a user namespace's range.
 */
export {
  bootstrappers,
  registerBootstrapper,
  debootstrap,
  dnf,
  mmdebstrap,
  pacstrap,
  tarball,
} from './bootstrappers/index.js';
export type { Bootstrapper } from './bootstrappers/index.js';
export { bootstrapOptions, DEBIAN_SUITES, HOST_SOURCES } from './bootstrappers/options.js';
export {
  assertNotInsidePartial,
  cachedRootfs,
  cacheKey,
  chooseBootstrapper,
  DEFAULT_CACHE_DIR,
  ensureRootfs,
  parseBootstrapOptions,
  PARTIAL_SUFFIX,
  removeRootfs,
} from './build.js';
export type { BootstrapOptions, BootstrapOptionsInput, CacheOptions, UnpackOptions } from './build.js';
export * from './idshift/index.js';
