/** Fedora-like distributions through `dnf --installroot` (argv only here). */
import type { BootstrapOptions } from './options.js';
import type { Bootstrapper } from './types.js';

export const dnf: Bootstrapper = {
  name: 'dnf',
  program: 'dnf',
  distributions: ['fedora', 'centos', 'rocky', 'alma'],
  writesTarball: false,
  argv(o: BootstrapOptions, target: string) {
    return [
      'dnf',
      '-y',
      `--installroot=${target}`,
      `--releasever=${o.suite}`,
      `--forcearch=${o.arch === 'amd64' ? 'x86_64' : o.arch === 'arm64' ? 'aarch64' : o.arch}`,
      '--setopt=install_weak_deps=False',
      ...(o.proxy ? [`--setopt=proxy=${o.proxy}`] : []),
      'install',
      o.variant === 'minbase' ? '@core' : `@${o.variant}`,
      ...o.includes,
    ];
  },
};
