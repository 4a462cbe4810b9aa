/** mmdebstrap: about twice as fast as debootstrap here, and writes tarballs itself. */
import { debianSelection, HOST_SOURCES, type BootstrapOptions } from './options.js';
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
      // Without a mirror, the building machine's sources: mmdebstrap's own guess may name
      // hosts this machine cannot reach.
      o.mirror ?? HOST_SOURCES,
    ];
  },
};
