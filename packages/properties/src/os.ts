/**
 * os: declare the operating system a host runs. Pure hostattrs: other properties use
 * them to refuse hosts they do not support, and bootstrappers to pick suite and arch.
 */
import { attrs, defprop } from '@consfig/core';
import { z } from 'zod';

const arch = z.string().regex(/^[a-z0-9]+$/, 'must be a Debian architecture such as amd64');
const suite = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a Debian suite name such as bookworm');

export const debianStable = defprop({
  name: 'os.debianStable',
  desc: (s, a) => `Debian stable (${s}, ${a})`,
  args: z.tuple([suite, arch.default('amd64')]),
  argNames: ['suite', 'arch'],
  hostattrs: (h, s, a) => h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'stable', suite: s, arch: a }),
});

export const debianTesting = defprop({
  name: 'os.debianTesting',
  desc: (a) => `Debian testing (${a})`,
  args: z.tuple([arch.default('amd64')]),
  argNames: ['arch'],
  hostattrs: (h, a) => h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'testing', suite: 'testing', arch: a }),
});

export const debianUnstable = defprop({
  name: 'os.debianUnstable',
  desc: (a) => `Debian unstable (${a})`,
  args: z.tuple([arch.default('amd64')]),
  argNames: ['arch'],
  hostattrs: (h, a) => h.push(attrs.os, { family: 'linux', distribution: 'debian', release: 'unstable', suite: 'sid', arch: a }),
});
