/**
 * systemd: units enabled, disabled, masked and lingering (offline too, in chroots), and
 * started, stopped, restarted and reloaded where systemd runs.
 */
import { posix } from 'node:path';
import { attrs, defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { metadataChange } from './text-file.js';
import { passwdEntry } from './user.js';
import { SOCKET_WAIT_S, socketWait } from './socket-wait.js';

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
export const lingeringEnabled = withParams<[user: Arg]>()(
  defprop({
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
  }),
);

const enabledOptions = z.object({ userInstance: userName.optional() }).strict();

/** A unit enabled (for all users' instances with `userInstance: 'USER'`: that user's). */
export const enabled = withParams<[unit: Arg, options?: Arg]>()(
  defprop({
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
      if (o.userInstance)
        await ctx.run(['runuser', '-u', o.userInstance, '--', 'systemctl', '--user', 'disable', unit]);
      else await ctx.run(['systemctl', 'disable', unit]);
    },
  }),
);

/**
 * A unit masked: it never starts, not even as another unit's dependency. Offline (a
 * rootfs being built) that is the link to /dev/null `systemctl mask` makes.
 */
export const masked = withParams<[unit: Arg]>()(
  defprop({
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
  }),
);

/** A unit disabled (the opposite of enabled; works offline too). */
export const disabled = withParams<[unit: Arg]>()(
  defprop({
    name: 'systemd.disabled',
    desc: (unit) => `${unit} disabled`,
    args: z.tuple([unitName]),
    argNames: ['unit'],
    check: async (ctx, unit) => !(await ctx.test(['systemctl', 'is-enabled', '-q', unit])),
    apply: async (ctx, unit) => {
      await ctx.run(['systemctl', 'disable', unit]);
    },
    unapply: async (ctx, unit) => {
      await ctx.run(['systemctl', 'enable', unit]);
    },
  }),
);

/** The socket systemctl run as root talks to systemd through. */
const MANAGER_SOCKET = '/run/systemd/private';

/**
 * Whether units can be started here: systemd is the running init, and the host is not
 * marked noServices (a tree being built). Where not, the runtime properties below do
 * nothing and change nothing, as service.* do. Just after boot (a container started a
 * moment ago) /run/systemd/system is there before systemd's socket, and every systemctl
 * would fail with "Failed to connect to bus": then wait for the socket.
 */
async function systemdRuns(ctx: PropertyContext): Promise<boolean> {
  if (ctx.attrs.first(attrs.noServices) === true) return false;
  if (!(await ctx.stat('/run/systemd/system')).exists) return false;
  if ((await ctx.stat(MANAGER_SOCKET)).exists) return true;
  if (await ctx.test(['sh', '-c', socketWait(MANAGER_SOCKET)])) return true;
  return ctx.fail(
    `systemd runs on ${ctx.hostname} but its socket ${MANAGER_SOCKET} did not appear in ${SOCKET_WAIT_S} s`,
  );
}

const isActive = (ctx: PropertyContext, unit: string) => ctx.test(['systemctl', 'is-active', '-q', unit]);

/** A `systemctl VERB UNIT` property, applied unless `done` says so. */
function unitAction(
  name: string,
  verb: string,
  what: string,
  done: (ctx: PropertyContext, unit: string) => Promise<boolean>,
) {
  return defprop({
    name: `systemd.${name}`,
    desc: (unit) => `${unit} ${what}`,
    args: z.tuple([unitName]),
    argNames: ['unit'],
    prefetch: () => [{ path: '/run/systemd/system' }, { path: MANAGER_SOCKET }],
    check: async (ctx, unit) => !(await systemdRuns(ctx)) || done(ctx, unit),
    apply: async (ctx, unit) => {
      await ctx.run(['systemctl', verb, unit]);
    },
  });
}

/** The unit is active (systemctl start); nothing where systemd does not run. */
export const started = withParams<[unit: Arg]>()(unitAction('started', 'start', 'started', isActive));
/** The unit is not active (systemctl stop); nothing where systemd does not run. */
export const stopped = withParams<[unit: Arg]>()(
  unitAction('stopped', 'stop', 'stopped', async (ctx, unit) => !(await isActive(ctx, unit))),
);
/** Always a change: put it after what needs it with onChange. */
export const restarted = withParams<[unit: Arg]>()(unitAction('restarted', 'restart', 'restarted', async () => false));
/** Reloaded if it runs (one that does not reads its config when it starts). */
export const reloaded = withParams<[unit: Arg]>()(
  unitAction('reloaded', 'reload', 'reloaded', async (ctx, unit) => !(await isActive(ctx, unit))),
);

/** systemd reads its unit files again: for onChange after a unit file property. */
export const daemonReloaded = defprop({
  name: 'systemd.daemonReloaded',
  desc: 'systemd daemon reloaded',
  args: z.tuple([]),
  prefetch: () => [{ path: '/run/systemd/system' }, { path: MANAGER_SOCKET }],
  check: async (ctx) => !(await systemdRuns(ctx)),
  apply: async (ctx) => {
    await ctx.run(['systemctl', 'daemon-reload']);
  },
});
