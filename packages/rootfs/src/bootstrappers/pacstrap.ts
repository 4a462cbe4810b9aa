/** Arch Linux's pacstrap (argv only: this project's machines have no pacman). */
import type { BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

export const pacstrap: Bootstrapper = {
  name: 'pacstrap',
  program: 'pacstrap',
  distributions: ['arch'],
  writesTarball: false,
  argv(o: BootstrapOptions, target: string) {
    // -c: the host's package cache; -G: no keyring copy; -M: no mirrorlist copy.
    return ['pacstrap', '-c', '-G', '-M', target, 'base', ...o.includes];
  },
  env: (o): Record<string, string> => (o.proxy ? { http_proxy: o.proxy, https_proxy: o.proxy } : {}),
};
