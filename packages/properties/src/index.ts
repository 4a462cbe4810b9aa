/**
 * @consfig/properties: the property library. Each module is a namespace of properties:
 * `file.hasContent(...)`, `cmd.single(...)`, `os.debianStable(...)`.
 */
export * as apache from './apache.js';
export * as apt from './apt-module.js';
export * as certificates from './certificates.js';
export * as chroot from './chroot.js';
export * as cmd from './cmd.js';
export * as cron from './cron.js';
export * as file from './file.js';
export * as git from './git.js';
export * as hostname from './hostname.js';
export * as image from './image.js';
export * as libvirt from './libvirt.js';
export * as locale from './locale.js';
export * as lxc from './lxc.js';
export * as network from './network.js';
export * as os from './os.js';
export * as runtime from './runtime.js';
export * as service from './service.js';
export * as ssh from './ssh.js';
export * as sshd from './sshd.js';
export * as systemd from './systemd.js';
export * as timezone from './timezone.js';
export * as user from './user.js';
export * as veth from './veth.js';
export { setIniSettings } from './ini.js';
export type { IniSetting } from './ini.js';
