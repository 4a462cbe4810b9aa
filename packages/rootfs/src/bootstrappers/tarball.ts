/** A distribution's own root tarball, unpacked (any distribution that ships one). */
import { InvalidArgumentError } from '@consfig/core/property';
import type { BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

export const tarball: Bootstrapper = {
  name: 'tarball',
  program: 'tar',
  distributions: ['*'],
  writesTarball: false,
  argv(o: BootstrapOptions, target: string) {
    if (!o.tarball) throw new InvalidArgumentError('the tarball bootstrapper', 'options.tarball', 'is required');
    // tar detects the compression itself when extracting.
    return ['tar', '-C', target, '--numeric-owner', '-xpf', o.tarball];
  },
};
