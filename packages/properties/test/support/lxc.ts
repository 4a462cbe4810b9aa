/** What the LXC tests share: shell commands as root and as a container's owner. */
import { execFileSync } from 'node:child_process';
import { sh } from '../../../connections/test/support/machine.js';

export { sh };

/** Runs `command` as `owner` through su, whose PAM session delegates cgroups here. */
export function asOwner(owner: string, command: string): string {
  return execFileSync('su', [owner, '-s', '/bin/sh', '-c', command], { encoding: 'utf8' });
}

export function isRunning(owner: string, lxcpath: string, name: string): boolean {
  return asOwner(owner, `lxc-info -P ${lxcpath} -n ${name} -s -H 2>/dev/null || true`).trim() === 'RUNNING';
}

/** Stops and removes every container under `lxcpath`. */
export function removeAllContainers(owner: string, lxcpath: string): void {
  sh(
    `for c in $(su ${owner} -s /bin/sh -c 'lxc-ls -P ${lxcpath}' 2>/dev/null); do
       su ${owner} -s /bin/sh -c "lxc-stop -P ${lxcpath} -n $c -k" 2>/dev/null
     done; rm -rf ${lxcpath}; true`,
  );
}
