/**
 * The seed's three hosts, as functions of where they live, so that tests can give them
 * their own places (consfig.ts gives them the defaults):
 *
 * - `lxc1`: an unprivileged container with systemd and apache, routing one address;
 * - `lxctest`: its container host, a VM: it builds lxc1's tree (shifted for the owner's
 *   ids), starts it at boot through the owner's systemd instance, and routes its
 *   address through the seed's hook (an image run as root, see docs/images.md);
 * - `laptop`: this machine, deployed by an ordinary user through sudo, which builds
 *   lxctest's tree and boots it with libvirt (qemu; TCG where KVM cannot boot it).
 *
 * lxc1 is reached through the laptop, ssh into lxctest (a port qemu forwards on
 * 127.0.0.1) and the lxc hop, when a key for lxctest's root is given.
 */
import { defineHost, type Host, type Propapp } from '@consfig/core';
import { lxc as lxcHop, ssh, sudo } from '@consfig/connections';
import { apt, file, hostname, libvirt, lxc, os, user, veth } from '@consfig/properties';

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
  /** The port on 127.0.0.1 that reaches lxctest's sshd. */
  sshPort?: number;
  /** A key that lxctest's root accepts, and where its private half is on the laptop. */
  sshKey?: { public: string; private: string };
  /** How lxctest's VM gets its root: the tree over virtiofs, or an ext4 image of it (default: auto). */
  rootfs?: 'virtiofs' | 'image' | 'auto';
}

export function seedLab(o: LabOptions): { laptop: Host; lxctest: Host; lxc1: Host } {
  const bridge = o.bridge ?? 'lxcbr0';
  const sshPort = o.sshPort ?? 2222;
  const lxc1Props = [
    os.debianStable(o.suite, 'amd64'),
    veth.routes(o.owner, '10.0.3.10'),
    apt.installed('systemd-sysv', 'apache2'),
    file.hasContent('/var/www/html/index.html', '<h1>lxc1, configured by consfig</h1>'),
    ...(o.lxc1Extra ?? []),
  ];
  const lxc1Bare = defineHost('lxc1.example', lxc1Props);

  const lxctest = defineHost('lxctest.example', [
    os.debianStable(o.suite, 'amd64'),
    hostname.configured(),
    // What building lxc1's tree in here takes: the bootstrapper and the cache's zstd.
    apt.installed('mmdebstrap', 'zstd', 'openssh-server'),
    o.sshKey && file.directoryExists('/root/.ssh', { mode: 0o700 }),
    o.sshKey && file.hasContent('/root/.ssh/authorized_keys', o.sshKey.public, { mode: 0o600 }),
    user.hasAccount(o.owner),
    lxc.installed(),
    // lxc-net makes the bridge (and its NAT) at boot.
    file.hasContent('/etc/default/lxc-net', 'USE_LXC_BRIDGE="true"'),
    lxc.usernetUsableBy(o.owner, bridge),
    lxc.userContainersAutostart(o.owner, o.lxcpath ? { lxcpath: o.lxcpath } : {}),
    // sudo, not userv: no daemon to be up before lxc1 starts at boot.
    veth.routingHook({ via: 'sudo' }),
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
          ...veth.hookLines(lxc1Bare, o.owner),
        ],
      },
      lxc1Bare,
    ),
  ]);

  const laptop = defineHost(
    'laptop.example',
    [
      os.debianStable('bookworm', 'amd64'),
      libvirt.kvmBootsChrootFor(
        {
          alwaysDeploys: true,
          autostart: true,
          vcpus: 2,
          memory: 1024,
          root: `${o.images}/lxctest`,
          network: { type: 'user', sshPort },
          ...(o.rootfs ? { rootfs: o.rootfs } : {}),
        },
        lxctest,
      ),
    ],
    // An ordinary user deploys it: `consfig deploy -K laptop.example` asks for the password.
    { via: 'sudo' },
  );

  // lxc1 directly, through the running VM: laptop (sudo) → ssh into lxctest → lxc.
  const lxc1 = o.sshKey
    ? defineHost('lxc1.example', lxc1Props, {
        via: [
          sudo(),
          ssh({
            host: '127.0.0.1',
            port: sshPort,
            user: 'root',
            configFile: '/dev/null',
            options: [
              '-i',
              o.sshKey.private,
              '-o',
              'StrictHostKeyChecking=accept-new',
              '-o',
              `UserKnownHostsFile=${o.images}/known_hosts`,
            ],
          }),
          lxcHop({ name: 'lxc1', owner: o.owner, ...(o.lxcpath ? { lxcpath: o.lxcpath } : {}) }),
        ],
      })
    : lxc1Bare;

  return { laptop, lxctest, lxc1 };
}
