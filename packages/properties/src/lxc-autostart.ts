/**
 * Starting a user's unprivileged containers at boot. A machine that boots systemd gets a
 * unit in the user's systemd instance, which lingering starts at boot without a login;
 * any other machine gets a script run by cron's @reboot, which starts the containers
 * through su (whose PAM session delegates the cgroups). Exactly one of the two is in
 * place, so the containers never start twice.
 */
import { posix } from 'node:path';
import { defprop, shellQuote, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { noServices } from './service.js';
import { initIsSystemd } from './systemd.js';
import { checkResult, contentChanges, metadataChange, replaceWithSymlink } from './text-file.js';
import { entryOrFail } from './user.js';

const userName = z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'must be a user name');
// It goes into a unit's command line and a script unquoted: plain path characters only.
const lxcpath = z.string().regex(/^\/[A-Za-z0-9_.\/-]*$/, 'must be an absolute path of letters, digits, _ . - and /');
const options = z.object({ lxcpath: lxcpath.optional() }).strict();

const UNIT = 'consfig-lxc-autostart.service';
const HELPER = '/usr/local/libexec/consfig/lxc-autostart';
const HELPER_TEXT = `#!/bin/sh
# Written by consfig: start (-s: stop) the calling user's containers that have
# lxc.start.auto = 1, in the lxcpath given or LXC's default. lxc-autostart fails where
# there are no containers at all (LXC issue 3847), so that case ends here.
stop=
if [ "$1" = -s ]; then stop=-s; shift; fi
if [ -n "$1" ]; then set -- -P "$1"; fi
[ -n "$(lxc-ls -1 "$@")" ] || exit 0
exec lxc-autostart $stop "$@"
`;
const scriptPath = (user: string) => `/usr/local/libexec/consfig/lxc-autostart-${user}`;
const cronPath = (user: string) => `/etc/cron.d/consfig-lxc-autostart-${user}`;
const lingerPath = (user: string) => `/var/lib/systemd/linger/${user}`;

/**
 * Boots systemd: running it now, or, in a rootfs being built (no services run there),
 * its init is systemd's. A running machine's /sbin/init says nothing: containers often
 * have systemd installed and boot something else.
 */
async function bootsSystemd(ctx: PropertyContext): Promise<boolean> {
  if ((await ctx.stat('/run/systemd/system')).exists) return true;
  return noServices(ctx) && initIsSystemd(ctx);
}

function unitText(lxcpath: string | undefined): string {
  const path = lxcpath ? ` ${lxcpath}` : '';
  return [
    '# Written by consfig.',
    '[Unit]',
    'Description=Start the LXC containers that have lxc.start.auto = 1',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    // lxc-start makes the containers' cgroups below this service's.
    'Delegate=yes',
    `ExecStart=${HELPER}${path}`,
    `ExecStop=${HELPER} -s${path}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function scriptText(user: string, lxcpath: string | undefined): string {
  const command = shellQuote(`${HELPER}${lxcpath ? ` ${lxcpath}` : ''}`);
  return [
    '#!/bin/sh',
    `# Written by consfig: start ${user}'s autostart containers.`,
    `exec su ${user} -s /bin/sh -c ${command}\n`,
  ].join('\n');
}

interface Layout {
  systemd: boolean;
  uid: number;
  gid: number;
  unitDir: string;
  unit: string;
  wants: string;
}

async function layout(ctx: PropertyContext, user: string): Promise<Layout> {
  const pw = await entryOrFail(ctx, user);
  const unitDir = `${pw.home}/.config/systemd/user`;
  return {
    systemd: await bootsSystemd(ctx),
    uid: pw.uid,
    gid: pw.gid,
    unitDir,
    unit: `${unitDir}/${UNIT}`,
    wants: `${unitDir}/default.target.wants/${UNIT}`,
  };
}

async function remove(ctx: PropertyContext, ...paths: string[]): Promise<void> {
  await ctx.run(['rm', '-f', '--', ...paths], { affects: paths });
}

/**
 * `user`'s containers that say lxc.start.auto = 1 start at boot (see the module comment
 * for how). The unit's directories in the home belong to the user.
 */
export const userContainersAutostart = withParams<[user: Arg, options?: Arg]>()(
  defprop({
    name: 'lxc.userContainersAutostart',
    desc: (user) => `${user}'s containers start at boot`,
    args: z.tuple([userName, options.default({})]),
    argNames: ['user', 'options'],
    // What the check reads outside the home, in one round trip with the host's other probes.
    prefetch: (user) => [
      ...[HELPER, scriptPath(user), cronPath(user)].map((path) => ({ path, content: true })),
      ...[lingerPath(user), '/run/systemd/system', '/sbin/init'].map((path) => ({ path })),
    ],
    check: async (ctx, user, o) => {
      const l = await layout(ctx, user);
      const changes = await contentChanges(ctx, HELPER, HELPER_TEXT, 0o755);
      if (!l.systemd) {
        changes.push(
          ...(await contentChanges(ctx, scriptPath(user), scriptText(user, o.lxcpath), 0o755)),
          ...(await contentChanges(ctx, cronPath(user), `@reboot root ${scriptPath(user)}\n`)),
          ...(await contentChanges(ctx, l.wants, null)),
        );
        return checkResult(changes);
      }
      changes.push(...(await contentChanges(ctx, l.unit, unitText(o.lxcpath))));
      const wants = await ctx.stat(l.wants);
      if (wants.type !== 'symlink' || wants.target !== `../${UNIT}`)
        changes.push(metadataChange(wants, `symlink to ../${UNIT}`));
      const linger = await ctx.stat(lingerPath(user));
      if (!linger.exists) changes.push(metadataChange(linger, 'file (lingering)'));
      changes.push(...(await contentChanges(ctx, cronPath(user), null)));
      return checkResult(changes);
    },
    apply: async (ctx, user, o) => {
      const l = await layout(ctx, user);
      await ctx.run(['mkdir', '-p', posix.dirname(HELPER)], { affects: [posix.dirname(HELPER)] });
      await ctx.writeFile(HELPER, HELPER_TEXT, { mode: 0o755 });
      if (!l.systemd) {
        await ctx.writeFile(scriptPath(user), scriptText(user, o.lxcpath), { mode: 0o755 });
        await ctx.writeFile(cronPath(user), `@reboot root ${scriptPath(user)}\n`, { mode: 0o644 });
        await remove(ctx, l.wants);
        return;
      }
      // Made by the user, so that every directory on the way belongs to them.
      const asUser = ctx.uid === l.uid ? [] : ['setpriv', `--reuid=${l.uid}`, `--regid=${l.gid}`, '--clear-groups'];
      await ctx.run([...asUser, 'mkdir', '-p', `${l.unitDir}/default.target.wants`], { affects: [l.unitDir] });
      await ctx.writeFile(l.unit, unitText(o.lxcpath), { mode: 0o644, owner: String(l.uid), group: String(l.gid) });
      await replaceWithSymlink(ctx, l.wants, `../${UNIT}`, { uid: l.uid, gid: l.gid });
      await remove(ctx, cronPath(user), scriptPath(user));
      if ((await ctx.stat(lingerPath(user))).exists) return;
      if ((await ctx.stat('/run/systemd/system')).exists) {
        // logind starts the user's instance now, which runs the unit just written.
        await ctx.run(['loginctl', 'enable-linger', user], { affects: [lingerPath(user)] });
        return;
      }
      // What `loginctl enable-linger` does, without needing logind to run (chroots).
      await ctx.run(['mkdir', '-p', posix.dirname(lingerPath(user))], { affects: [posix.dirname(lingerPath(user))] });
      await ctx.writeFile(lingerPath(user), '');
    },
    // Lingering stays (the user's instance may serve more than containers), and so does
    // the helper, which other users' units and scripts may run.
    unapply: async (ctx, user) => {
      const l = await layout(ctx, user);
      await remove(ctx, cronPath(user), scriptPath(user), l.wants, l.unit);
    },
  }),
);
