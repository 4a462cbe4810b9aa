/**
 * The text forms of these hops, registered with @consfig/core so configs and the CLI
 * can write chains as strings: `ssh:root@web1:22 sudo chroot:/srv/c1`.
 */
import { InvalidHopError, registerHopKind } from '@consfig/core/hop';
import { chroot } from './chroot.js';
import { lxc } from './lxc.js';
import { nsenter } from './nsenter.js';
import { ssh } from './ssh.js';
import { runuser, su } from './su.js';
import { sudo } from './sudo.js';

function required(kind: string, argument: string | undefined): string {
  if (!argument) throw new InvalidHopError(kind, `hop ${kind} needs an argument: ${kind}:…`);
  return argument;
}

registerHopKind('ssh', (a) => ssh(required('ssh', a)));
registerHopKind('sudo', (a) => sudo(a ? { user: a } : {}));
registerHopKind('su', (a) => su(required('su', a)));
registerHopKind('runuser', (a) => runuser(required('runuser', a)));
registerHopKind('chroot', (a) => chroot(required('chroot', a)));
registerHopKind('nsenter', (a) => nsenter(required('nsenter', a)));
registerHopKind('lxc', (a) => lxc(required('lxc', a)));
