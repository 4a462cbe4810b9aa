#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: a machine that has everything is left as it is.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for cmd_pkg in runuser:util-linux sudo:sudo sshd:openssh-server ssh:openssh-client unshare:util-linux \
  mmdebstrap:mmdebstrap debootstrap:debootstrap zstd:zstd newuidmap:uidmap pkill:procps \
  setfacl:acl setcap:libcap2-bin lxc-start:lxc /usr/lib/x86_64-linux-gnu/security/pam_cgfs.so:libpam-cgfs \
  curl:curl setfattr:attr userv:userv pebble:pebble git:git \
  qemu-system-x86_64:qemu-system-x86 libvirtd:libvirt-daemon-system virsh:libvirt-clients; do
  cmd=${cmd_pkg%%:*} pkg=${cmd_pkg#*:}
  if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || need+=("$pkg")
  else command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg"); fi
done
# The busybox-only target of the portability tests needs the static build.
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
cd "$(dirname "$0")/.."
pnpm install --frozen-lockfile >/dev/null
# The Debian rootfs the chroot tests unpack: built once, cached (mmdebstrap, ~30 s).
cache=/var/cache/consfig-test/rootfs
tarball=$cache/bookworm-minbase-amd64.tar.zst
if [ ! -e "$tarball" ]; then
  mkdir -p "$cache"
  (
    flock 9
    [ -e "$tarball" ] || {
      mmdebstrap --variant=minbase --quiet bookworm "$tarball.tmp.tar.zst" /etc/apt/sources.list.d/debian.sources
      mv "$tarball.tmp.tar.zst" "$tarball"
    }
  ) 9>"$cache/.lock"
fi
echo "test-machine-setup: ready"
