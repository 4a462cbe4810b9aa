/**
 * @consfig/connections: hops for connection chains. Importing it registers their text
 * forms (`ssh:…`, `sudo`, `su:…`, `runuser:…`, `chroot:…`, `nsenter:…`, `lxc:NAME[@OWNER]`).
 */
import './register.js';

export { ssh, parseSshTarget } from './ssh.js';
export type { SshOptions } from './ssh.js';
export { sudo } from './sudo.js';
export type { SudoOptions, SudoPassword } from './sudo.js';
export { runuser, su } from './su.js';
export { chroot } from './chroot.js';
export { nsenter } from './nsenter.js';
export type { NsenterOptions } from './nsenter.js';
export { lxc, parseLxcTarget } from './lxc.js';
export type { LxcOptions } from './lxc.js';
