/**
 * The seed's lab (see lab.ts): an unprivileged LXC container `lxc1` of a user of the
 * container host `lxctest`, a VM whose tree the `laptop` builds and boots.
 *
 *   consfig hosts  -c examples/seed-lab
 *   consfig deploy -K -c examples/seed-lab laptop.example      # as an ordinary user, through sudo
 *   consfig deploy -K -c examples/seed-lab lxc1.example        # into lxc1, through the running VM
 *   consfig deploy --via local -c examples/seed-lab lxctest.example   # this machine as lxctest, as root
 *
 * SEED_LAB_OWNER names the container's owner (default lxcowner); SEED_LAB_IMAGES where
 * the laptop keeps lxctest's tree (default /var/lib/libvirt/images); SEED_LAB_SUITE the
 * suite of lxctest and lxc1 (default bullseye, as in the seed); SEED_LAB_LXCPATH the
 * owner's lxcpath (default LXC's); SEED_LAB_SSH_KEY a private key (its .pub beside it)
 * that lxctest's root will accept, which makes lxc1 reachable; SEED_LAB_SSH_PORT the port
 * on 127.0.0.1 that reaches lxctest's sshd (default 2222).
 */
import { readFileSync } from 'node:fs';
import { defineConsfig } from '@consfig/core';
import { seedLab } from './lab.js';

const env = process.env;
const key = env.SEED_LAB_SSH_KEY;

const { laptop, lxctest, lxc1 } = seedLab({
  owner: env.SEED_LAB_OWNER ?? 'lxcowner',
  images: env.SEED_LAB_IMAGES ?? '/var/lib/libvirt/images',
  suite: env.SEED_LAB_SUITE ?? 'bullseye',
  ...(env.SEED_LAB_LXCPATH ? { lxcpath: env.SEED_LAB_LXCPATH } : {}),
  ...(env.SEED_LAB_SSH_PORT ? { sshPort: Number(env.SEED_LAB_SSH_PORT) } : {}),
  ...(key ? { sshKey: { private: key, public: readFileSync(`${key}.pub`, 'utf8').trim() } } : {}),
});

export default defineConsfig({ hosts: [laptop, lxctest, lxc1] });
