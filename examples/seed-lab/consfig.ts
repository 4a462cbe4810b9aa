/**
 * The seed's lab (see lab.ts): an unprivileged LXC container `lxc1` of a user of the
 * container host `lxctest`, whose tree the `laptop` builds.
 *
 *   consfig hosts  -c examples/seed-lab
 *   consfig deploy -K -c examples/seed-lab laptop.example      # as an ordinary user, through sudo
 *   consfig deploy --via local -c examples/seed-lab lxctest.example   # this machine as lxctest, as root
 *
 * SEED_LAB_OWNER names the container's owner (default lxcowner), SEED_LAB_IMAGES where
 * the laptop keeps lxctest's tree (default /var/lib/libvirt/images), SEED_LAB_SUITE the
 * suite of lxctest and lxc1 (default bullseye, as in the seed), SEED_LAB_LXCPATH the
 * owner's lxcpath (default LXC's, in the owner's home).
 */
import { defineConsfig } from '@consfig/core';
import { seedLab } from './lab.js';

const { laptop, lxctest, lxc1 } = seedLab({
  owner: process.env.SEED_LAB_OWNER ?? 'lxcowner',
  images: process.env.SEED_LAB_IMAGES ?? '/var/lib/libvirt/images',
  suite: process.env.SEED_LAB_SUITE ?? 'bullseye',
  ...(process.env.SEED_LAB_LXCPATH ? { lxcpath: process.env.SEED_LAB_LXCPATH } : {}),
});

export default defineConsfig({ hosts: [laptop, lxctest, lxc1] });
