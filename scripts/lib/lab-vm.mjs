// What the seed-lab test and benchmark share about the lab's VM: libvirt's daemons,
// started by hand (no systemd on these machines), and ssh into the guest through the
// port its user-mode network forwards from 127.0.0.1.
import { execFileSync, spawnSync } from 'node:child_process';

/** Start virtlogd and libvirtd unless they run; true when this call started libvirtd. */
export function startLibvirtd() {
  const started = spawnSync('pgrep', ['-x', 'libvirtd']).status !== 0;
  execFileSync('sh', [
    '-c',
    'mkdir -p /run/libvirt\n' +
      'pgrep -x virtlogd >/dev/null || virtlogd -d; pgrep -x libvirtd >/dev/null || libvirtd -d\n' +
      'for i in $(seq 1 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done',
  ]);
  return started;
}

export function stopLibvirtd() {
  spawnSync('sh', [
    '-c',
    'kill $(cat /run/libvirtd.pid 2>/dev/null) 2>/dev/null; pkill -x libvirtd; pkill -x virtlogd; true',
  ]);
}

/** argv of ssh as root into the guest, with no user config and no host key kept. */
export function guestSsh(key, port, command, timeoutSeconds = 5) {
  const options = ['BatchMode=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null'];
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    key,
    '-p',
    String(port),
    ...options.flatMap((o) => ['-o', o]),
    '-o',
    `ConnectTimeout=${timeoutSeconds}`,
    'root@127.0.0.1',
    command,
  ];
}
