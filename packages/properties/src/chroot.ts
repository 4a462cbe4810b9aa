/**
 * chroot: root filesystems built on the target and configured as hosts of their own.
 * `osBootstrappedFor(options, root, host)` builds `root` from the rootfs cache (the
 * suite and arch default to what the host's os property declares), then deploys the
 * host's properties inside it through the chroot hop: a nested deployment in which the
 * host sees this host's hostattrs as its parent's and runs no services.
 */
import { attrs, dataAttr, defineHost, defprop, Host, isHost, type HostattrView } from '@consfig/core';
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

type ChrootOptions = z.output<typeof optionsSchema>;

const hostSchema = z.custom<Host>((v) => isHost(v), { message: 'must be a host made with defineHost' });

/** The bootstrap options, completed from the host's declared OS. */
function bootstrapFor(options: ChrootOptions, host: Host, parent: HostattrView): BootstrapOptionsInput & { suite: string } {
  const child = host.nestedIn(parent).attrs;
  const os = child.first(attrs.os);
  // The host's apt proxy and mirror (else its parent's) serve the bootstrap too.
  const proxy = options.proxy ?? child.first(proxyAttr) ?? parent.first(proxyAttr);
  const mirror = options.mirror ?? child.first(mirrorsAttr) ?? parent.first(mirrorsAttr);
  const { cacheDir: _c, maxAgeDays: _m, ...rest } = options;
  const suite = rest.suite ?? os?.suite;
  if (!suite) throw new TypeError(`give options.suite, or an os property (os.debianStable(...)) to ${host.name}`);
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

export const osBootstrappedFor = defprop({
  name: 'chroot.osBootstrappedFor',
  desc: (_options, root, host) => `${root} bootstrapped for ${host.name}`,
  args: z.tuple([optionsSchema, absolutePath, hostSchema]),
  argNames: ['options', 'root', 'host'],
  hostattrs: (h, options, _root, host) => {
    parseBootstrapOptions(bootstrapFor(options, host, h), 'chroot.osBootstrappedFor');
    // The nested host's own refusals surface now, and its data travels with ours.
    const child = nestedForBuild(host, h).attrs;
    for (const item of child.get(dataAttr)) h.requireData(item.iden1, item.iden2);
  },
  prefetch: (_options, root) => [{ path: `${root}/usr/lib/os-release` }],
  apply: async (ctx, options, root, host) => {
    const o = parseBootstrapOptions(bootstrapFor(options, host, ctx.attrs), 'chroot.osBootstrappedFor');
    const cache = { ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}), ...(options.maxAgeDays ? { maxAgeDays: options.maxAgeDays } : {}) };
    const built = await ensureRootfs(ctx, o, root, cache);
    const inside = await ctx.deployNested(nestedForBuild(host, ctx.attrs), chrootHop(root));
    return built || inside.result === 'changed' ? 'changed' : 'unchanged';
  },
  unapply: async (ctx, _options, root) => ((await removeRootfs(ctx, root)) ? 'changed' : 'unchanged'),
});

/** `osBootstrappedFor` with an inline host: the properties to apply inside. */
export function osBootstrapped(options: ChrootOptions, root: string, props: readonly unknown[]) {
  const base = root.split('/').filter(Boolean).pop() ?? 'chroot';
  const name = /^[A-Za-z0-9-]{1,63}$/.test(base) && !base.startsWith('-') ? base : 'chroot';
  return osBootstrappedFor(options, root, defineHost(name, props));
}
