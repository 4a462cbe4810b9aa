/**
 * chroot: root filesystems built on the target and configured as hosts of their own.
 * `osBootstrappedFor(options, root, host)` is two small checked steps: the tree built
 * from the rootfs cache (the suite and arch default to what the host's os property
 * declares), then the host's properties deployed inside it through the chroot hop: a
 * nested deployment in which the host sees this host's hostattrs as its parent's and
 * runs no services. In a dry run the second step runs the host's own checks inside the
 * tree, so `consfig check` shows exactly what would change there.
 */
import {
  attrs,
  dataAttr,
  defineHost,
  defprop,
  desc,
  eseq,
  Host,
  InvalidArgumentError,
  invalidApplication,
  isHost,
  type HostattrView,
  type Propapp,
  type PropSpec,
  type PropertyContext,
} from '@consfig/core/property';
import type { Hop } from '@consfig/core/hop';
import { chroot as chrootHop } from '@consfig/connections';
import { ensureRootfs, parseBootstrapOptions, removeRootfs, type BootstrapOptionsInput } from '@consfig/rootfs';
import { z } from 'zod';
import { mirrorsAttr, proxyAttr } from './apt.js';
import { absolutePath } from './schemas.js';

const optionsSchema = z
  .object({
    bootstrapper: z.string().optional(),
    suite: z.string().optional(),
    arch: z.string().optional(),
    variant: z.string().optional(),
    includes: z.array(z.string()).optional(),
    components: z.array(z.string()).optional(),
    mirror: z.string().optional(),
    proxy: z.string().optional(),
    keyring: z.string().optional(),
    tarball: z.string().optional(),
    cacheDir: absolutePath.optional(),
    maxAgeDays: z.number().positive().optional(),
  })
  .strict();

export type ChrootOptions = z.input<typeof optionsSchema>;

export const hostSchema = z.custom<Host>((v) => isHost(v), { message: 'must be a host made with defineHost' });

/**
 * The bootstrap options for `host`'s tree, built on the host whose hostattrs are `parent`:
 * suite and arch from the host's os property, the apt proxy and mirror from its apt
 * properties (else the parent's), unless the options say.
 */
export function bootstrapFor(
  options: ChrootOptions,
  host: Host,
  parent: HostattrView,
): BootstrapOptionsInput & { suite: string } {
  const child = host.nestedIn(parent).attrs;
  const os = child.first(attrs.os);
  // The host's apt proxy and mirror (else its parent's) serve the bootstrap too.
  const proxy = options.proxy ?? child.first(proxyAttr) ?? parent.first(proxyAttr);
  const mirror = options.mirror ?? child.first(mirrorsAttr) ?? parent.first(mirrorsAttr);
  const { cacheDir: _c, maxAgeDays: _m, ...rest } = options;
  const suite = rest.suite ?? os?.suite;
  if (!suite)
    throw new InvalidArgumentError(
      'chroot.osBootstrappedFor',
      'options.suite',
      `give it, or an os property (os.debianStable(...)) to ${host.name}`,
    );
  return {
    ...rest,
    suite,
    arch: rest.arch ?? os?.arch ?? 'amd64',
    ...(proxy ? { proxy } : {}),
    ...(mirror ? { mirror } : {}),
  };
}

/** A host as built inside this one: it sees the parent's hostattrs and runs no services. */
export function nestedForBuild(host: Host, parent: HostattrView): Host {
  return host.nestedIn(parent, [[attrs.noServices, true]]);
}

/** Where a tree built by these properties counts as built: a Debian tree has this. */
export const BUILT_MARK = 'usr/lib/os-release';

const treeBuilt = defprop({
  name: 'chroot.treeBuilt',
  desc: (_options, root) => `${root} built from the rootfs cache`,
  args: z.tuple([optionsSchema, absolutePath, hostSchema]),
  argNames: ['options', 'root', 'host'],
  hostattrs: (h, options, _root, host) => {
    parseBootstrapOptions(bootstrapFor(options, host, h), 'chroot.osBootstrappedFor');
    // The nested host's own refusals surface now, and its data travels with ours.
    const child = nestedForBuild(host, h).attrs;
    for (const item of child.get(dataAttr)) h.requireData(item.iden1, item.iden2);
  },
  prefetch: (_options, root) => [{ path: `${root}/${BUILT_MARK}` }],
  check: async (ctx, _options, root) => (await ctx.stat(`${root}/${BUILT_MARK}`)).exists,
  apply: async (ctx, options, root, host) => {
    const o = parseBootstrapOptions(bootstrapFor(options, host, ctx.attrs), 'chroot.osBootstrappedFor');
    const cache = {
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(options.maxAgeDays ? { maxAgeDays: options.maxAgeDays } : {}),
    };
    return (await ensureRootfs(ctx, o, root, cache)) ? 'changed' : 'unchanged';
  },
  unapply: async (ctx, _options, root) => ((await removeRootfs(ctx, root)) ? 'changed' : 'unchanged'),
});

/**
 * Deploy `host` (as built inside this host) through `hop`, in dry runs too: its own
 * checks then say what would change inside. Where the tree to enter is not there yet
 * (`ready` false, a dry run before the build), every one of its properties would apply.
 */
export async function deployInside(
  ctx: PropertyContext,
  host: Host,
  hop: Hop,
  ready: () => Promise<boolean>,
): Promise<'changed' | 'unchanged'> {
  const child = nestedForBuild(host, ctx.attrs);
  if (ctx.dryRun && !(await ready())) {
    ctx.note(`not built yet: every property of ${host.name} would be applied`);
    return 'changed';
  }
  return (await ctx.deployNested(child, hop)).result;
}

const deployedInChroot = defprop({
  name: 'chroot.deployed',
  desc: (root, host) => `${host.name} deployed in ${root}`,
  args: z.tuple([absolutePath, hostSchema]),
  argNames: ['root', 'host'],
  appliesOthers: true,
  apply: (ctx, root, host) =>
    deployInside(ctx, host, chrootHop(root), async () => (await ctx.stat(`${root}/${BUILT_MARK}`)).exists),
  // Removing the tree removes what was deployed in it.
  unapply: 'nothing',
});

/** `root` built for `host` and `host`'s properties applied inside it. */
export function osBootstrappedFor(options: ChrootOptions, root: string, host: Host): Propapp {
  const parsed = z.tuple([optionsSchema, absolutePath, hostSchema]).safeParse([options, root, host]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const names = ['options', 'root', 'host'];
    const [index, ...rest] = issue.path;
    return invalidApplication(
      'chroot.osBootstrappedFor',
      [names[Number(index)] ?? 'arguments', ...rest].join('.'),
      issue.message,
    );
  }
  return desc(
    `${root} bootstrapped for ${host.name}`,
    eseq(treeBuilt(options, root, host), deployedInChroot(root, host)),
  );
}

/** `osBootstrappedFor` with an inline host: the properties to apply inside. */
export function osBootstrapped(options: ChrootOptions, root: string, props: readonly PropSpec[]) {
  const base = root.split('/').filter(Boolean).pop() ?? 'chroot';
  const name = /^[A-Za-z0-9-]{1,63}$/.test(base) && !base.startsWith('-') ? base : 'chroot';
  return osBootstrappedFor(options, root, defineHost(name, props));
}
