/** A distribution's own root tarball, unpacked (any distribution that ships one). */
import type { BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

export const tarball: Bootstrapper = {
  name: 'tarball',
  program: 'tar',
  distributions: ['*'],
  writesTarball: false,
  argv(o: BootstrapOptions, target: string) {
    if (!o.tarball) throw new TypeError('the tarball bootstrapper needs options.tarball');
    // tar detects the compression itself when extracting.
    return ['tar', '-C', target, '--numeric-owner', '-xpf', o.tarball];
  },
};
