/**
 * The seed's lab: a container host `lxctest` that runs an unprivileged LXC container
 * `lxc1` for a user, and `lxc1` itself. (The `laptop` that boots lxctest as a KVM
 * guest comes with the libvirt work.)
 *
 *   consfig hosts  -c examples/seed-lab
 *   consfig deploy -c examples/seed-lab lxctest.example     # on this machine, as root
 *
 * SEED_LAB_OWNER names the container's owner (default consfig-tuser, the test user:
 * it needs /etc/subuid and /etc/subgid ranges); SEED_LAB_LXCPATH where its containers
 * live (default: the owner's ~/.local/share/lxc).
 */
import { defineConsfig, defineHost, hasAttr, hostattr } from '@consfig/core';
import { apt, file, lxc, os } from '@consfig/properties';
import { z } from 'zod';

const owner = process.env.SEED_LAB_OWNER ?? 'consfig-tuser';
const lxcpath = process.env.SEED_LAB_LXCPATH;

/** What a container declares about its veth, for the container host's routing hook. */
export const vethIp = hostattr('seed-lab.veth-ip', z.object({ user: z.string(), ip: z.string() }));

const lxc1 = defineHost('lxc1.example', [
  os.debianStable('bookworm', 'amd64'),
  hasAttr(vethIp, { user: owner, ip: '10.0.3.10' }),
  apt.installed('apache2'),
  file.hasContent('/var/www/html/index.html', '<h1>lxc1, configured by consfig</h1>'),
]);

const lxctest = defineHost('lxctest.example', [
  os.debianStable('bookworm', 'amd64'),
  lxc.installed(),
  lxc.usernetUsableBy(owner, 'lxcbr0'),
  lxc.userContainersAutostart(owner, lxcpath ? { lxcpath } : {}),
  lxc.userContainerFor(
    {
      owner,
      autostart: true,
      ...(lxcpath ? { lxcpath } : {}),
      additionalLines: [
        // minbase has no init; a host that installs systemd-sysv can drop this line
        'lxc.init.cmd = /usr/bin/sleep infinity',
        'lxc.net.0.type = veth',
        'lxc.net.0.flags = up',
        'lxc.net.0.link = lxcbr0',
        'lxc.net.0.ipv4.address = 10.0.3.10/24',
      ],
    },
    lxc1,
  ),
], { via: 'local' }); // this machine plays lxctest (the libvirt work boots it as a VM instead)

export default defineConsfig({ hosts: [lxctest, lxc1] });
