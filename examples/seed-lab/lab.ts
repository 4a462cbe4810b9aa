/**
 * The seed's three hosts, as functions of where they live, so that tests can give them
 * their own places (consfig.ts gives them the defaults):
 *
 * - `lxc1`: an unprivileged container with systemd and apache, routing one address;
 * - `lxctest`: its container host, which builds lxc1's tree (shifted for the owner's
 *   ids), starts it at boot through the owner's autostart, and routes its address
 *   through the seed's hook (an image run as root through userv, see docs/images.md);
 * - `laptop`: this machine, deployed by an ordinary user through sudo, which builds
 *   lxctest's tree (the libvirt work boots it as a VM).
 */
import { defineHost, type Host, type Propapp } from '@consfig/core';
import { apt, chroot, file, lxc, os, user, veth } from '@consfig/properties';

export interface LabOptions {
  /** The user of lxctest whose container lxc1 is. */
  owner: string;
  /** Where laptop keeps lxctest's tree. */
  images: string;
  /** Debian suite of lxctest and lxc1 (the seed's: bullseye). */
  suite: string;
  /** Where lxc1's address lives (LXC's bridge). */
  bridge?: string;
  /** The owner's lxcpath on lxctest (default LXC's, in the owner's home). */
  lxcpath?: string;
  /** More properties for lxc1 (tests inject a failure with this). */
  lxc1Extra?: Propapp[];
}

export function seedLab(o: LabOptions): { laptop: Host; lxctest: Host; lxc1: Host } {
  const bridge = o.bridge ?? 'lxcbr0';
  const lxc1 = defineHost('lxc1.example', [
    os.debianStable(o.suite, 'amd64'),
    veth.routes(o.owner, '10.0.3.10'),
    apt.installed('systemd-sysv', 'apache2'),
    file.hasContent('/var/www/html/index.html', '<h1>lxc1, configured by consfig</h1>'),
    ...(o.lxc1Extra ?? []),
  ]);

  const lxctest = defineHost('lxctest.example', [
    os.debianStable(o.suite, 'amd64'),
    // What building lxc1's tree in here takes: the bootstrapper and the cache's zstd.
    apt.installed('mmdebstrap', 'zstd'),
    user.hasAccount(o.owner),
    lxc.installed(),
    lxc.usernetUsableBy(o.owner, bridge),
    lxc.userContainersAutostart(o.owner, o.lxcpath ? { lxcpath: o.lxcpath } : {}),
    veth.routingHook({ via: 'userv' }),
    lxc.userContainerFor(
      {
        owner: o.owner,
        autostart: true,
        ...(o.lxcpath ? { lxcpath: o.lxcpath } : {}),
        additionalLines: [
          'lxc.net.0.type = veth',
          'lxc.net.0.flags = up',
          `lxc.net.0.link = ${bridge}`,
          'lxc.net.0.ipv4.address = 10.0.3.10/24',
          ...veth.hookLines(lxc1, o.owner),
        ],
      },
      lxc1,
    ),
  ]);

  const laptop = defineHost('laptop.example', [os.debianStable('bookworm', 'amd64'), chroot.osBootstrappedFor({}, `${o.images}/lxctest`, lxctest)], {
    // An ordinary user deploys it: `consfig deploy -K laptop.example` asks for the password.
    via: 'sudo',
  });

  return { laptop, lxctest, lxc1 };
}
