/**
 * lxc: unprivileged LXC containers run by ordinary users, as in the seed: the user's
 * veth allowance, autostart at boot, and containers built from a consfig host (rootfs
 * from the cache, the host's properties applied while it is still root-owned, ids
 * shifted into the owner's subordinate range, config written, started, and then
 * configured again from inside through the lxc connection).
 */
import { posix } from 'node:path';
import {
  dataAttr,
  defprop,
  desc,
  eseq,
  hostattr,
  invalidApplication,
  isPropapp,
  seq,
  type Host,
  type HostattrView,
  type Propapp,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { chroot as chrootHop, lxc as lxcHop } from '@consfig/connections';
import {
  ensureRootfs,
  parseBootstrapOptions,
  parseRanges,
  shiftState,
  shiftTree,
  subordinateRanges,
  type IdMaps,
} from '@consfig/rootfs';
import { z } from 'zod';
import { installed as aptInstalled } from './apt.js';
import { bootstrapFor, BUILT_MARK, deployInside, hostSchema, nestedForBuild, type ChrootOptions } from './chroot.js';
import { noServices } from './service.js';
import { change, changesOf, checkLines, checkResult, regularContent, rewriteLines } from './text-file.js';
import { initIsSystemd } from './systemd.js';
import { socketWait } from './socket-wait.js';
import { entryOrFail } from './user.js';

export { userContainersAutostart } from './lxc-autostart.js';

const userName = z.string().regex(/^[a-z_][a-z0-9_.-]*$/i, 'must be a user name');
const bridgeName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be a network interface name');

/** A container this host runs: pushed by userContainerFor, read by the host's own properties. */
export interface ContainerEntry {
  name: string;
  owner: string;
  /** The container's host, whose hostattrs say what it declares (its veth addresses…). */
  host: Host;
}
export const containersAttr = hostattr<ContainerEntry>('lxc.containers');

/** The LXC container name of a host: its name up to the first dot. */
export function containerName(host: { name: string }): string {
  return host.name.split('.')[0]!;
}

/** LXC and what unprivileged containers need (uidmap; PAM cgroup delegation without systemd). */
export function installed(): Propapp {
  return desc('LXC installed', aptInstalled('lxc', 'uidmap', 'libpam-cgfs'));
}

const USERNET = '/etc/lxc/lxc-usernet';

/** `user` may attach `count` veth devices to `bridge` (its line in /etc/lxc/lxc-usernet). */
export const usernetUsableBy = withParams<[user: Arg, bridge?: Arg, count?: Arg]>()(
  defprop({
    name: 'lxc.usernetUsableBy',
    desc: (user, bridge, count) => `${user} may attach ${count} veths to ${bridge}`,
    args: z.tuple([userName, bridgeName.default('lxcbr0'), z.number().int().positive().default(10)]),
    argNames: ['user', 'bridge', 'count'],
    check: (ctx, user, bridge, count) => checkLines(ctx, USERNET, usernetEdit(user, bridge, count)),
    apply: (ctx, user, bridge, count) => rewriteLines(ctx, USERNET, usernetEdit(user, bridge, count)),
    unapply: (ctx, user, bridge) => rewriteLines(ctx, USERNET, (old) => old.filter((l) => !isLineFor(l, user, bridge))),
  }),
);
/** The name Consfigurator uses now. */
export const usernetVethUsableBy = usernetUsableBy;

/** The user's line for the bridge set where it is (or appended), any other of theirs for it dropped. */
function usernetEdit(user: string, bridge: string, count: number) {
  const wanted = `${user} veth ${bridge} ${count}`;
  return (old: string[]) => {
    const at = old.findIndex((l) => isLineFor(l, user, bridge));
    const rest = old.filter((l, i) => i === at || !isLineFor(l, user, bridge));
    return at < 0 ? [...old, wanted] : rest.map((l) => (isLineFor(l, user, bridge) ? wanted : l));
  };
}

function isLineFor(line: string, user: string, bridge: string): boolean {
  const [u, type, b] = line.trim().split(/\s+/);
  return u === user && type === 'veth' && b === bridge;
}

const containerOptions = z
  .object({
    owner: userName,
    autostart: z.boolean().default(false),
    /** Start it (and configure it from inside); default: when autostart. */
    start: z.boolean().optional(),
    preludeLines: z.array(z.string()).default([]),
    additionalLines: z.array(z.string()).default([]),
    uidMaps: z.array(z.string()).optional(),
    gidMaps: z.array(z.string()).optional(),
    lxcpath: z.string().startsWith('/').optional(),
    chrootOptions: z.record(z.string(), z.unknown()).default({}),
    /** Properties this container host adds to the container's (its network, say). */
    additionalProperties: z
      .array(z.custom<Propapp>(isPropapp, { message: 'must be property applications' }))
      .default([]),
  })
  .strict();
type ContainerOptions = z.output<typeof containerOptions>;

/** The container's id maps: explicit, or the owner's first subordinate ranges (read once a deployment). */
function mapsFor(ctx: PropertyContext, o: ContainerOptions): Promise<IdMaps> {
  return ctx.memo(`lxc.maps:${o.owner}:${JSON.stringify([o.uidMaps, o.gidMaps])}`, () => readMaps(ctx, o));
}

async function readMaps(ctx: PropertyContext, o: ContainerOptions): Promise<IdMaps> {
  if (o.uidMaps || o.gidMaps) {
    if (!o.uidMaps || !o.gidMaps) ctx.fail('give both uidMaps and gidMaps, or neither');
    return { uid: o.uidMaps.flatMap(parseRanges), gid: o.gidMaps.flatMap(parseRanges) };
  }
  const first = async (file: string) => {
    const [range] = subordinateRanges((await ctx.readFileIfExists(file))?.toString('utf8') ?? '', o.owner);
    if (!range) ctx.fail(`${o.owner} has no range in ${file} on ${ctx.hostname} (usermod --add-subuids …)`);
    return [{ inside: 0, outside: range.start, count: range.count }];
  };
  return { uid: await first('/etc/subuid'), gid: await first('/etc/subgid') };
}

/**
 * The container's config file. A container that boots systemd halts on SIGRTMIN+3
 * (systemd takes LXC's default, SIGPWR, for a power failure), unless the lines say.
 */
export function containerConfig(
  name: string,
  rootfs: string,
  maps: IdMaps,
  o: ContainerOptions,
  systemd = false,
): string {
  const lines = [...o.preludeLines, ...o.additionalLines];
  const halt =
    systemd && !lines.some((l) => /^\s*lxc\.signal\.halt\s*=/.test(l)) ? ['lxc.signal.halt = SIGRTMIN+3'] : [];
  return [
    '# Written by consfig.',
    ...o.preludeLines,
    'lxc.include = /usr/share/lxc/config/common.conf',
    'lxc.include = /usr/share/lxc/config/userns.conf',
    ...maps.uid.map((r) => `lxc.idmap = u ${r.inside} ${r.outside} ${r.count}`),
    ...maps.gid.map((r) => `lxc.idmap = g ${r.inside} ${r.outside} ${r.count}`),
    `lxc.rootfs.path = dir:${rootfs}`,
    `lxc.uts.name = ${name}`,
    `lxc.start.auto = ${o.autostart ? 1 : 0}`,
    'lxc.apparmor.profile = unconfined',
    ...halt,
    ...o.additionalLines,
    '',
  ].join('\n');
}

const REMOVE_CGROUPS = String.raw`owner=$1; name=$2
for try in 1 2 3 4 5 6 7 8 9 10; do
  left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 7 -depth -type d -path "*/$owner/*" \
    \( -path "*/lxc.monitor.$name*" -o -path "*/lxc.payload.$name*" \) 2>/dev/null)
  [ -n "$left" ] || exit 0
  printf '%s
' "$left" | while IFS= read -r d; do rmdir "$d" 2>/dev/null; done
  sleep 0.2
done
exit 0`;

function asOwner(owner: string, argv: string[]): string[] {
  // su, not runuser: without systemd its PAM session is what delegates cgroups.
  // su permutes its arguments: `--` keeps argv's options away from it. It keeps the
  // environment, and the deploying user's session directory and bus (root's
  // /run/user/0) would stop lxc-start making its lock there.
  return [
    'su',
    '-s',
    '/bin/sh',
    '-c',
    'unset XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS; exec "$0" "$@"',
    owner,
    '--',
    ...argv,
  ];
}

/** Start it and wait until it runs: lxc-start returns once daemonized, while it still starts. */
async function start(ctx: PropertyContext, owner: string, name: string, lxcpath: string): Promise<void> {
  await ctx.run(asOwner(owner, ['lxc-start', '-P', lxcpath, '-n', name]));
  await ctx.run(asOwner(owner, ['lxc-wait', '-P', lxcpath, '-n', name, '-s', 'RUNNING', '-t', '30']));
  if (!(await initIsSystemd(ctx, `${lxcpath}/${name}/rootfs`))) return;
  // RUNNING is its init started; systemd listens a moment later, and what is deployed
  // into the container next (systemctl) fails with "Failed to connect to bus" until then.
  const listening = await ctx.test(asOwner(owner, ['sh', '-c', SYSTEMD_LISTENS, 'sh', lxcpath, name]));
  if (!listening) ctx.fail(`systemd in container ${name} did not listen on /run/systemd/private within 60 s`);
}

/**
 * Waits (60 s at most) for the socket of the systemd the container's init runs; at once
 * where its init is something else (the config's lxc.init.cmd).
 */
const SYSTEMD_LISTENS = [
  'pid=$(lxc-info -P "$1" -n "$2" -p -H) || exit 1',
  'case $(readlink "/proc/$pid/exe") in */systemd) ;; *) exit 0 ;; esac',
  socketWait('"/proc/$pid/root/run/systemd/private"'),
].join('\n');

async function isRunning(ctx: PropertyContext, owner: string, name: string, lxcpath: string): Promise<boolean> {
  const r = await ctx.run(asOwner(owner, ['lxc-info', '-P', lxcpath, '-n', name, '-s', '-H']), {
    allowFailure: true,
    readOnly: true,
  });
  return r.stdout.trim() === 'RUNNING';
}

async function where(ctx: PropertyContext, o: { owner: string; lxcpath?: string | undefined }, host: Host) {
  const pw = await ctx.memo(`lxc.owner:${o.owner}`, () => entryOrFail(ctx, o.owner));
  const lxcpath = o.lxcpath ?? `${pw.home}/.local/share/lxc`;
  const name = containerName(host);
  return { pw, lxcpath, name, dir: `${lxcpath}/${name}`, rootfs: `${lxcpath}/${name}/rootfs` };
}

const BUILT_FLAG = '.consfig-built';

/** The container's bootstrap options, from its host's os property and `chrootOptions`. */
function bootstrapOptionsFor(host: Host, parent: HostattrView, o: ContainerOptions) {
  return parseBootstrapOptions(bootstrapFor(o.chrootOptions as ChrootOptions, host, parent), 'lxc.userContainerFor');
}

const stepArgs = z.tuple([containerOptions, hostSchema]);

/**
 * The tree built from the rootfs cache and the host's properties applied in it while it
 * is still root-owned; the flag file says both happened, so a build whose configuration
 * failed is configured again next time, never shifted half-done.
 */
const treeConfigured = defprop({
  name: 'lxc.treeConfigured',
  desc: (_o, host) => `${containerName(host)}'s tree built and configured`,
  args: stepArgs,
  argNames: ['options', 'host'],
  hostattrs: (h, o, host) => {
    h.push(containersAttr, { name: containerName(host), owner: o.owner, host });
    const child = nestedForBuild(host, h).attrs;
    for (const item of child.get(dataAttr)) h.requireData(item.iden1, item.iden2);
    bootstrapOptionsFor(host, h, o);
  },
  check: async (ctx, o, host) => {
    const { dir, rootfs } = await where(ctx, o, host);
    if ((await ctx.stat(`${dir}/${BUILT_FLAG}`)).exists) return true;
    // A tree shifted before the flag file existed was built and configured then.
    return (await ctx.stat(`${rootfs}/${BUILT_MARK}`)).exists && (await shiftState(ctx.conn, rootfs)).state !== 'none';
  },
  apply: async (ctx, o, host) => {
    const { pw, lxcpath, dir, rootfs } = await where(ctx, o, host);
    for (const d of [posix.dirname(lxcpath), lxcpath, dir]) {
      await ctx.run(
        ['sh', '-c', '[ -d "$1" ] || { mkdir -p "$1" && chown "$2" "$1"; }', 'sh', d, `${pw.uid}:${pw.gid}`],
        { affects: [d] },
      );
    }
    await ensureRootfs(ctx, bootstrapOptionsFor(host, ctx.attrs, o), rootfs);
    await ctx.deployNested(nestedForBuild(host, ctx.attrs), chrootHop(rootfs));
    await ctx.writeFile(`${dir}/${BUILT_FLAG}`, '', { mode: 0o644 });
  },
  unapply: async (ctx, o, host) => {
    const { lxcpath, name, dir } = await where(ctx, o, host);
    if (!(await ctx.stat(dir)).exists) return 'unchanged';
    if (await isRunning(ctx, o.owner, name, lxcpath))
      await ctx.run(asOwner(o.owner, ['lxc-stop', '-P', lxcpath, '-n', name, '-k']));
    await ctx.run(['rm', '-rf', '--one-file-system', '--', dir], { affects: [dir] });
    // LXC can leave its (empty) monitor and payload cgroups behind the owner's session.
    await ctx.run(['sh', '-c', REMOVE_CGROUPS, 'consfig-lxc-cgroups', o.owner, name]);
    return 'changed';
  },
});

/** The tree's ids shifted into the owner's subordinate range (resumed where a shift was cut short). */
const treeShifted = defprop({
  name: 'lxc.treeShifted',
  desc: (o, host) => `${containerName(host)}'s tree shifted into ${o.owner}'s ids`,
  args: stepArgs,
  argNames: ['options', 'host'],
  check: async (ctx, o, host) => {
    const { rootfs } = await where(ctx, o, host);
    if (!(await ctx.stat(rootfs)).exists) return false;
    const state = await shiftState(ctx.conn, rootfs);
    return state.state === 'shifted' && JSON.stringify(state.maps) === JSON.stringify(await mapsFor(ctx, o));
  },
  // At the far end, with the chain's privileges there: the tree need not be on this machine.
  apply: async (ctx, o, host) => {
    const { rootfs } = await where(ctx, o, host);
    await shiftTree(ctx.conn, rootfs, await mapsFor(ctx, o));
  },
  // Removing the tree (the first step, unapplied last) removes this with it.
  unapply: 'nothing',
});

/** The owner's home lets the container's root (a subordinate id) through to the rootfs. */
const homeTraversable = defprop({
  name: 'lxc.homeTraversable',
  desc: (o) => `${o.owner}'s home lets the container's root through`,
  args: stepArgs,
  argNames: ['options', 'host'],
  check: async (ctx, o) => {
    const pw = await entryOrFail(ctx, o.owner);
    const root = (await mapsFor(ctx, o)).uid[0]!.outside;
    return ctx.test(['sh', '-c', HOME_PASSABLE, 'sh', pw.home, String(root)]);
  },
  apply: async (ctx, o) => {
    const pw = await entryOrFail(ctx, o.owner);
    await ctx.run(['setfacl', '-m', `u:${(await mapsFor(ctx, o)).uid[0]!.outside}:x`, '--', pw.home], {
      affects: [pw.home],
    });
  },
  // Removing the tree (the first step, unapplied last) removes this with it.
  unapply: 'nothing',
});

const HOME_PASSABLE = String.raw`case $(stat -c %A "$1") in *x) exit 0 ;; esac
getfacl -cp "$1" 2>/dev/null | grep -q "^user:$2:..x"`;

/**
 * With explicit maps, the owner must be allowed them: newuidmap checks /etc/subuid and
 * /etc/subgid, so each range the owner does not hold yet gets its line there (the owner's
 * own id, which newuidmap always allows, needs none).
 */
const subordinateIdsGranted = defprop({
  name: 'lxc.subordinateIdsGranted',
  desc: (o) => `${o.owner} may map the container's ids`,
  args: stepArgs,
  argNames: ['options', 'host'],
  prefetch: () => ['/etc/subuid', '/etc/subgid'].map((path) => ({ path, content: true })),
  check: async (ctx, o) => {
    const pw = await entryOrFail(ctx, o.owner);
    const maps = await mapsFor(ctx, o);
    return checkResult([
      ...changesOf(await checkLines(ctx, '/etc/subuid', grant(o.owner, pw.uid, maps.uid))),
      ...changesOf(await checkLines(ctx, '/etc/subgid', grant(o.owner, pw.gid, maps.gid))),
    ]);
  },
  apply: async (ctx, o) => {
    const pw = await entryOrFail(ctx, o.owner);
    const maps = await mapsFor(ctx, o);
    await rewriteLines(ctx, '/etc/subuid', grant(o.owner, pw.uid, maps.uid));
    await rewriteLines(ctx, '/etc/subgid', grant(o.owner, pw.gid, maps.gid));
  },
  // Other containers of the owner may use the same ranges.
  unapply: 'nothing',
});

/** An edit of /etc/subuid (or subgid) adding the ranges `owner` does not hold yet. */
function grant(owner: string, ownId: number, ranges: readonly { outside: number; count: number }[]) {
  return (old: string[]) => {
    const held = (start: number, count: number) =>
      old.some((line) => {
        const [who, s, c] = line.split(':');
        return (who === owner || who === String(ownId)) && Number(s) <= start && start + count <= Number(s) + Number(c);
      });
    const missing = ranges.filter((r) => !(r.count === 1 && r.outside === ownId) && !held(r.outside, r.count));
    return [...old, ...missing.map((r) => `${owner}:${r.outside}:${r.count}`)];
  };
}

/** A container needs an init to run: its tree's /sbin/init, or one its lines name. */
async function refuseWithoutInit(ctx: PropertyContext, o: ContainerOptions, host: Host, rootfs: string): Promise<void> {
  const named = [...o.preludeLines, ...o.additionalLines].some((l) => /^\s*lxc\.init\.cmd\s*=/.test(l));
  if (named || !(await ctx.stat(rootfs)).exists || (await ctx.stat(`${rootfs}/sbin/init`)).exists) return;
  ctx.fail(
    `${containerName(host)}'s tree has no /sbin/init, so the container cannot start: give ${host.name} an init ` +
      `(apt.installed('systemd-sysv'), or 'sysvinit-core'), or name one in additionalLines ('lxc.init.cmd = …')`,
  );
}

/** The container's config file, with its diff in check mode. */
const configWritten = defprop({
  name: 'lxc.configWritten',
  desc: (_o, host) => `${containerName(host)}'s LXC config`,
  args: stepArgs,
  argNames: ['options', 'host'],
  check: async (ctx, o, host) => {
    const { dir, rootfs, name } = await where(ctx, o, host);
    await refuseWithoutInit(ctx, o, host, rootfs);
    const want = Buffer.from(containerConfig(name, rootfs, await mapsFor(ctx, o), o, await initIsSystemd(ctx, rootfs)));
    const old = await regularContent(ctx, `${dir}/config`);
    return old?.equals(want) ? true : { applied: false, changes: [change(`${dir}/config`, old, want)] };
  },
  apply: async (ctx, o, host) => {
    const { pw, dir, rootfs, name } = await where(ctx, o, host);
    await refuseWithoutInit(ctx, o, host, rootfs);
    const config = containerConfig(name, rootfs, await mapsFor(ctx, o), o, await initIsSystemd(ctx, rootfs));
    await ctx.writeFile(`${dir}/config`, config, { owner: String(pw.uid), group: String(pw.gid), mode: '0644' });
  },
  // Removing the tree (the first step, unapplied last) removes this with it.
  unapply: 'nothing',
});

/** Running (started by its owner). */
const started = defprop({
  name: 'lxc.started',
  desc: (_o, host) => `${containerName(host)} running`,
  args: stepArgs,
  argNames: ['options', 'host'],
  // In a tree being built (no services) nothing starts: that counts as done.
  check: async (ctx, o, host) => {
    if (noServices(ctx)) return true;
    const w = await where(ctx, o, host);
    return isRunning(ctx, o.owner, w.name, w.lxcpath);
  },
  apply: async (ctx, o, host) => {
    const w = await where(ctx, o, host);
    // An unprivileged container's ids are mapped by newuidmap: without it lxc-start fails obscurely.
    if (!(await ctx.test(['sh', '-c', 'command -v newuidmap >/dev/null']))) {
      ctx.fail(`uidmap is not installed on ${ctx.hostname}: lxc.installed() installs it`);
    }
    await start(ctx, o.owner, w.name, w.lxcpath);
  },
  unapply: async (ctx, o, host) => {
    const w = await where(ctx, o, host);
    await ctx.run(asOwner(o.owner, ['lxc-stop', '-P', w.lxcpath, '-n', w.name, '-k']));
  },
});

/** The host's properties applied from inside the running container (its checks, in a dry run). */
const deployedInContainer = defprop({
  name: 'lxc.deployed',
  desc: (_o, host) => `${host.name} deployed in ${containerName(host)}`,
  args: stepArgs,
  argNames: ['options', 'host'],
  appliesOthers: true,
  // Whenever it runs, whoever started it; a container that is not running is left alone.
  apply: async (ctx, o, host) => {
    if (noServices(ctx)) return 'unchanged';
    const w = await where(ctx, o, host);
    if (!(await isRunning(ctx, o.owner, w.name, w.lxcpath))) {
      ctx.note(`${w.name} is not running: it is configured from inside when it runs`);
      return 'unchanged';
    }
    return deployInside(ctx, host, lxcHop({ name: w.name, owner: o.owner, lxcpath: w.lxcpath }), async () => true);
  },
  unapply: 'nothing',
});

/**
 * An unprivileged container for `host`, owned by `options.owner`, as small checked
 * steps: the tree built from the rootfs cache with the host's properties applied while it
 * is still root-owned, shifted into the owner's subordinate ids, the owner's home made
 * passable, the config written, and (when started) started and configured again from
 * inside through the lxc connection. A step that did not complete is done next time.
 */
export function userContainerFor(options: z.input<typeof containerOptions>, host: Host): Propapp {
  const parsed = stepArgs.safeParse([options, host]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [index, ...rest] = issue.path;
    return invalidApplication(
      'lxc.userContainerFor',
      [index === 1 ? 'host' : 'options', ...rest].join('.'),
      issue.message,
    );
  }
  const o = parsed.data[0];
  // The container host's additions become part of the contained host, everywhere.
  const contained =
    o.additionalProperties.length > 0 ? host.withProps(seq(host.root, ...o.additionalProperties)) : host;
  return desc(
    `${o.owner}'s container ${containerName(host)} for ${host.name}`,
    eseq(
      (o.uidMaps || o.gidMaps) && subordinateIdsGranted(options, contained),
      treeConfigured(options, contained),
      treeShifted(options, contained),
      homeTraversable(options, contained),
      configWritten(options, contained),
      (o.start ?? o.autostart) && started(options, contained),
      deployedInContainer(options, contained),
    ),
  );
}

const startArgs = z.tuple([hostSchema, userName.optional(), z.string().startsWith('/').optional()]);

function containerRunning(want: boolean) {
  const word = want ? 'started' : 'stopped';
  return defprop({
    name: want ? 'lxc.userContainerStarted' : 'lxc.userContainerStopped',
    desc: (host, owner) => `container ${containerName(host)}${owner ? ` of ${owner}` : ''} ${word}`,
    args: startArgs,
    argNames: ['host', 'owner', 'lxcpath'],
    check: async (ctx, host, owner, lxcpath) => {
      if (noServices(ctx)) return true;
      const w = await where(ctx, { owner: owner ?? 'root', lxcpath }, host);
      return (await isRunning(ctx, owner ?? 'root', w.name, w.lxcpath)) === want;
    },
    apply: async (ctx, host, owner, lxcpath) => {
      const w = await where(ctx, { owner: owner ?? 'root', lxcpath }, host);
      if (want) await start(ctx, owner ?? 'root', w.name, w.lxcpath);
      else await ctx.run(asOwner(owner ?? 'root', ['lxc-stop', '-P', w.lxcpath, '-n', w.name, '-k']));
    },
  });
}

/** The host's container runs (lxc-start as its owner). */
export const userContainerStarted = withParams<[host: Arg, owner?: Arg, lxcpath?: Arg]>()(containerRunning(true));
/** The host's container does not run (lxc-stop as its owner). */
export const userContainerStopped = withParams<[host: Arg, owner?: Arg, lxcpath?: Arg]>()(containerRunning(false));

/** Apply `props` (on this host) only while the container runs. */
export function whenUserContainerRunning(
  host: Host,
  who: string | { owner?: string; lxcpath?: string } | undefined,
  ...props: Propapp[]
): Propapp {
  const { owner, lxcpath } = typeof who === 'object' ? who : { owner: who, lxcpath: undefined };
  const inner = eseq(...props);
  const gate = defprop({
    name: 'lxc.whenUserContainerRunning',
    desc: `when ${containerName(host)} runs`,
    // In `consfig check` too: what it would do while the container runs is shown.
    appliesOthers: true,
    apply: async (ctx) => {
      const w = await where(ctx, { owner: owner ?? 'root', lxcpath }, host);
      if (await isRunning(ctx, owner ?? 'root', w.name, w.lxcpath)) return ctx.apply(inner);
      ctx.passOver(inner);
      return 'unchanged';
    },
  });
  return gate();
}
