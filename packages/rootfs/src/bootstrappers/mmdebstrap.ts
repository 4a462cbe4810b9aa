/** mmdebstrap: about twice as fast as debootstrap here, and writes tarballs itself. */
import { HOST_MIRROR_PLACEHOLDER } from './debootstrap.js';
import { debianSelection, type BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

export const mmdebstrap: Bootstrapper = {
  name: 'mmdebstrap',
  program: 'mmdebstrap',
  distributions: ['debian'],
  writesTarball: true,
  argv(o: BootstrapOptions, target: string) {
    return [
      'mmdebstrap',
      '--quiet',
      `--variant=${o.variant}`,
      `--architectures=${o.arch}`,
      ...debianSelection(o),
      ...(o.proxy ? [`--aptopt=Acquire::http::Proxy "${o.proxy}"`] : []),
      o.suite,
      target,
      // Without a mirror, the building machine's (its URL, with the suite asked for):
      // mmdebstrap's own guess may name hosts this machine cannot reach, and the machine's
      // sources file would name its own suite whatever suite is asked for.
      o.mirror ?? HOST_MIRROR_PLACEHOLDER,
    ];
  },
};
