/** systemd: unit enablement and lingering (works offline, in chroots too). */
import { posix } from 'node:path';
import { defprop, type PropertyContext } from '@consfig/core';
import { z } from 'zod';
import { metadataChange } from './text-file.js';
import { passwdEntry } from './user.js';

/** The tree at `root` boots systemd: its /sbin/init is systemd's (installed, maybe not running). */
export async function initIsSystemd(ctx: PropertyContext, root = ''): Promise<boolean> {
  const init = await ctx.stat(`${root}/sbin/init`);
  return init.type === 'symlink' && posix.basename(init.target ?? '') === 'systemd';
}

const unitName = z
  .string()
  .regex(/^[A-Za-z0-9@_.:-]+\.(service|socket|timer|target|path|mount)$/, 'must be a unit name such as ssh.service');
const userName = z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a user name');

/** The user's systemd instance runs without a login (logind's linger flag file). */
export const lingeringEnabled = defprop({
  name: 'systemd.lingeringEnabled',
  desc: (user) => `${user} lingers`,
  args: z.tuple([userName]),
  argNames: ['user'],
  prefetch: (user) => [{ path: `/var/lib/systemd/linger/${user}` }],
  check: async (ctx, user) => {
    const flag = await ctx.stat(`/var/lib/systemd/linger/${user}`);
    return flag.exists || { applied: false, changes: [metadataChange(flag, 'file (lingering)')] };
  },
  apply: async (ctx, user) => {
    if (!(await passwdEntry(ctx, user))) ctx.fail(`no user ${user} on ${ctx.hostname}`);
    // What `loginctl enable-linger` does, without needing logind to run (chroots).
    await ctx.run(['mkdir', '-p', '/var/lib/systemd/linger'], { affects: ['/var/lib/systemd/linger'] });
    await ctx.writeFile(`/var/lib/systemd/linger/${user}`, '');
  },
  unapply: async (ctx, user) => {
    await ctx.run(['rm', '-f', `/var/lib/systemd/linger/${user}`], { affects: [`/var/lib/systemd/linger/${user}`] });
  },
});

const enabledOptions = z.object({ userInstance: userName.optional() }).strict();

/** A unit enabled (for all users' instances with `userInstance: 'USER'`: that user's). */
export const enabled = defprop({
  name: 'systemd.enabled',
  desc: (unit, o) => `${unit} enabled${o?.userInstance ? ` for ${o.userInstance}` : ''}`,
  args: z.tuple([unitName, enabledOptions.optional()]),
  argNames: ['unit', 'options'],
  check: async (ctx, unit, o = {}) =>
    o.userInstance
      ? ctx.test(['runuser', '-u', o.userInstance, '--', 'systemctl', '--user', 'is-enabled', '-q', unit])
      : ctx.test(['systemctl', 'is-enabled', '-q', unit]),
  apply: async (ctx, unit, o = {}) => {
    if (o.userInstance) await ctx.run(['runuser', '-u', o.userInstance, '--', 'systemctl', '--user', 'enable', unit]);
    else await ctx.run(['systemctl', 'enable', unit]);
  },
  unapply: async (ctx, unit, o = {}) => {
    if (o.userInstance) await ctx.run(['runuser', '-u', o.userInstance, '--', 'systemctl', '--user', 'disable', unit]);
    else await ctx.run(['systemctl', 'disable', unit]);
  },
});

/**
 * A unit masked: it never starts, not even as another unit's dependency. Offline (a
 * rootfs being built) that is the link to /dev/null `systemctl mask` makes.
 */
export const masked = defprop({
  name: 'systemd.masked',
  desc: (unit) => `${unit} masked`,
  args: z.tuple([unitName]),
  argNames: ['unit'],
  prefetch: (unit) => [{ path: `/etc/systemd/system/${unit}` }, { path: '/run/systemd/system' }],
  check: async (ctx, unit) => {
    const link = await ctx.stat(`/etc/systemd/system/${unit}`);
    if (link.type === 'symlink' && link.target === '/dev/null') return true;
    return { applied: false, changes: [metadataChange(link, 'symlink to /dev/null')] };
  },
  apply: async (ctx, unit) => {
    const path = `/etc/systemd/system/${unit}`;
    if ((await ctx.stat('/run/systemd/system')).exists) {
      await ctx.run(['systemctl', 'mask', unit], { affects: [path] });
      return;
    }
    await ctx.run(['mkdir', '-p', '/etc/systemd/system'], { affects: ['/etc/systemd/system'] });
    await ctx.run(['ln', '-sfn', '/dev/null', path], { affects: [path] });
  },
  unapply: async (ctx, unit) => {
    const path = `/etc/systemd/system/${unit}`;
    if ((await ctx.stat('/run/systemd/system')).exists)
      await ctx.run(['systemctl', 'unmask', unit], { affects: [path] });
    else await ctx.run(['rm', '-f', path], { affects: [path] });
  },
});
