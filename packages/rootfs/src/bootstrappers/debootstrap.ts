/** debootstrap: builds a directory; the mirror defaults to the building machine's. */
import { debianSelection, type BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

/** The default mirror when none is given: the building machine's archive URL (its sources' first URIs), read there. */
export const HOST_MIRROR_PLACEHOLDER = '@host-mirror@';

export const debootstrap: Bootstrapper = {
  name: 'debootstrap',
  program: 'debootstrap',
  distributions: ['debian'],
  writesTarball: false,
  argv(o: BootstrapOptions, target: string) {
    return [
      'debootstrap',
      `--variant=${o.variant}`,
      `--arch=${o.arch}`,
      ...debianSelection(o),
      o.suite,
      target,
      o.mirror ?? HOST_MIRROR_PLACEHOLDER,
    ];
  },
  env: (o): Record<string, string> => (o.proxy ? { http_proxy: o.proxy } : {}),
};
