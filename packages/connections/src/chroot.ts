/**
 * chroot: run the agent inside a root filesystem, in a private mount namespace that
 * holds the tree bound onto itself, /proc, /sys, /dev, /dev/pts, /dev/shm and /run
 * (with /run/lock; and the host's resolv.conf) for the life of the connection, so a
 * chroot hop works inside another at any depth. The namespace dies with the chain, so nothing stays
 * mounted after it ends, even when the deploy fails or is killed. A policy-rc.d that
 * denies every start is bind-mounted too, so packages installed inside start no
 * daemons; where the chroot has none, an empty placeholder (which invoke-rc.d ignores)
 * is made for it and removed afterwards.
 */
import { InvalidHopError, type Hop } from '@consfig/core/hop';

const SETUP = String.raw`set -e
r=$1; shift
[ -d "$r" ] || { echo "chroot: $r is not a directory" >&2; exit 111; }
for d in proc sys dev run usr/sbin etc; do [ -d "$r/$d" ] || mkdir -p "$r/$d"; done
# The tree bound onto itself is a mount point, so that inside it "/" is one too and a
# chroot hop in this chroot can make its own mounts private (else: EINVAL from unshare).
mount --bind "$r" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --rbind /dev "$r/dev"
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t tmpfs tmpfs "$r/run"
mkdir -m 1777 "$r/run/lock"
if [ -e /etc/resolv.conf ]; then
  [ -e "$r/etc/resolv.conf" ] || [ -L "$r/etc/resolv.conf" ] || : > "$r/etc/resolv.conf"
  [ -L "$r/etc/resolv.conf" ] || mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
fi
placeholder=
if [ ! -e "$r/usr/sbin/policy-rc.d" ]; then : > "$r/usr/sbin/policy-rc.d"; placeholder=1; fi
policy=$(mktemp)
printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
mount --bind "$policy" "$r/usr/sbin/policy-rc.d"
set +e
chroot "$r" "$@"
rc=$?
umount "$r/usr/sbin/policy-rc.d" 2>/dev/null
rm -f "$policy"
[ -z "$placeholder" ] || rm -f "$r/usr/sbin/policy-rc.d"
exit "$rc"`;

export function chroot(root: string): Hop {
  if (!root.startsWith('/'))
    throw new InvalidHopError('chroot', `chroot needs an absolute path, not ${JSON.stringify(root)}`);
  return {
    kind: 'chroot',
    describe: () => `chroot:${root}`,
    localRoot: (outer) => (outer === '/' ? root : `${outer}${root}`),
    wrap: (inner) => [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      SETUP,
      'consfig-chroot',
      root,
      'env',
      '-i',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/root',
      'LANG=C.UTF-8',
      'DEBIAN_FRONTEND=noninteractive',
      ...inner,
    ],
  };
}
