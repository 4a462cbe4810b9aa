import { debootstrap } from './debootstrap.js';
import { dnf } from './dnf.js';
import { mmdebstrap } from './mmdebstrap.js';
import { pacstrap } from './pacstrap.js';
import { tarball } from './tarball.js';
import type { Bootstrapper } from './types.js';

export const bootstrappers: Record<string, Bootstrapper> = { mmdebstrap, debootstrap, tarball, pacstrap, dnf };

/** Add or replace a bootstrapper (another distribution's tool). */
export function registerBootstrapper(b: Bootstrapper): void {
  bootstrappers[b.name] = b;
}

export { debootstrap, dnf, mmdebstrap, pacstrap, tarball };
export type { Bootstrapper };
