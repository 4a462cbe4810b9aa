/**
 * veth: routing addresses to unprivileged containers, as the seed does. A container
 * declares what it routes (`veth.routes(user, address)`, a hostattr); its container
 * host gets `veth.routingHook({ via })`: an image (image.ts) that LXC's network hook
 * runs as root through userv or sudo, which checks the request against its hosts'
 * hostattrs and only then adds (or removes) the routes, running ip(8) with an argv.
 * The container's config calls the hook with `veth.hookLines(container)`. Each deploy
 * of the container host regenerates the image from the hostattrs of the moment, so
 * giving a container another address (or taking one away) is a deploy away.
 */
import { isIP } from 'node:net';
import {
  defprop,
  desc,
  eseq,
  hostattr,
  tempPathFor,
  type Host,
  type Propapp,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { z } from 'zod';
import { installed as aptInstalled } from './apt.js';
import { ownModule } from './bundle.js';
import { hasContent } from './file.js';
import { dumped } from './image.js';
import { containersAttr } from './lxc.js';
import { change, regularContent } from './text-file.js';

const userName = z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name');
const address = z.string().refine((a) => isIP(a) !== 0, 'must be an IPv4 or IPv6 address');

/** What a container routes: the owner whose veth may carry it, and the address. */
export const routesAttr = hostattr('veth.routes', z.object({ user: userName, address }));

/** This container's `user` may route `address` to its veth (declared on the container's host). */
export const routes = withParams<[user: Arg, address: Arg]>()(
  defprop({
    name: 'veth.routes',
    desc: (user, a) => `${user} routes ${a}`,
    args: z.tuple([userName, address]),
    argNames: ['user', 'address'],
    hostattrs: (h, user, a) => h.push(routesAttr, { user, address: a }),
  }),
);

/** The default name of a routing setup: of its image, hook, userv service and sudoers file. */
export const DEFAULT_NAME = 'consfig-veth-route';

/** Where a routing setup's pieces are. */
export function routingPaths(name = DEFAULT_NAME) {
  return {
    image: `/usr/local/lib/consfig/${name}`,
    hook: `/usr/local/lib/consfig/${name}-hook`,
    service: name,
    uservFile: `/etc/userv/services.d/${name}`,
    sudoersFile: `/etc/sudoers.d/${name}`,
  };
}

const nameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'must be a name of lower-case letters, digits and -');

function hookText(via: 'userv' | 'sudo', name: string): string {
  const p = routingPaths(name);
  const call =
    via === 'userv'
      ? `exec userv -DHOOK_TYPE="$LXC_HOOK_TYPE" -DPEER="$LXC_NET_PEER" -DNAME="$LXC_NAME" root ${p.service} "$@"`
      : `exec sudo -n ${p.image} "$@"`;
  return `#!/bin/sh
# Written by consfig. LXC runs this as the container's owner (lxc.net.N.script.up and
# .down) with the addresses of its line, then TYPE LINK PEER of its own: it asks
# ${p.image}, as root through ${via}, to route the addresses to the peer.
[ "$#" -gt 3 ] || { echo "veth-hook: no address to route" >&2; exit 1; }
n=$(($# - 3)); i=0
for a; do i=$((i + 1)); [ "$i" -le "$n" ] && set -- "$@" "$a"; done
shift $((n + 3))
${call}
`;
}

/** The users whose containers route addresses: who may call the image. */
function routingOwners(ctx: PropertyContext): string[] {
  const owners = ctx.attrs
    .get(containersAttr)
    .filter((c) => c.host.attrs.get(routesAttr).some((r) => r.user === c.owner))
    .map((c) => c.owner);
  return [...new Set(owners)].sort();
}

function uservText(owners: readonly string[], image: string): string {
  return `# Written by consfig: the LXC veth hooks of these users may route their containers' addresses.
if ( glob service-user root
   & glob calling-user ${owners.join(' ')}
   )
	reset
	no-suppress-args
	no-set-environment
	execute ${image}
fi
`;
}

function sudoersText(owners: readonly string[], image: string): string {
  return `# Written by consfig: the LXC veth hooks of these users may route their containers' addresses.
Defaults!${image} env_keep += "LXC_*"
${owners.join(', ')} ALL=(root) NOPASSWD: ${image}
`;
}

/** Who may call the image: userv's service file, or a sudoers drop-in checked by visudo first. */
const callersAllowed = defprop({
  name: 'veth.callersAllowed',
  desc: (via) => `who may route through ${via}`,
  args: z.tuple([z.enum(['userv', 'sudo']), nameSchema]),
  argNames: ['via', 'name'],
  check: async (ctx, via, name) => {
    const owners = routingOwners(ctx);
    const p = routingPaths(name);
    const path = via === 'userv' ? p.uservFile : p.sudoersFile;
    const old = await regularContent(ctx, path);
    if (owners.length === 0) return old === null || { applied: false, changes: [change(path, old, null)] };
    const want = Buffer.from(via === 'userv' ? uservText(owners, p.image) : sudoersText(owners, p.image));
    return old?.equals(want) ? true : { applied: false, changes: [change(path, old, want)] };
  },
  apply: async (ctx, via, name) => {
    const owners = routingOwners(ctx);
    const p = routingPaths(name);
    const path = via === 'userv' ? p.uservFile : p.sudoersFile;
    if (owners.length === 0) {
      await ctx.run(['rm', '-f', '--', path], { affects: [path] });
      return;
    }
    if (via === 'userv') {
      await ctx.run(['mkdir', '-p', '/etc/userv/services.d'], { affects: ['/etc/userv/services.d'] });
      await ctx.writeFile(path, uservText(owners, p.image), { mode: 0o644, owner: '0', group: '0' });
      return;
    }
    // A broken sudoers file breaks sudo for everyone: visudo checks it before it goes in
    // (a name with a dot, which sudo's includedir skips, until then).
    const tmp = tempPathFor(path);
    await ctx.writeFile(tmp, sudoersText(owners, p.image), { mode: 0o440, owner: '0', group: '0' });
    const checked = await ctx.run(['visudo', '-cqf', tmp], { allowFailure: true, affects: [tmp] });
    if (checked.exitCode !== 0) {
      await ctx.run(['rm', '-f', '--', tmp], { affects: [tmp] });
      ctx.fail(`visudo refused the sudoers rules for ${path}: ${checked.stderr.trim() || checked.stdout.trim()}`);
    }
    await ctx.run(['mv', '-fT', '--', tmp, path], { affects: [tmp, path] });
  },
  unapply: async (ctx, via, name) => {
    const p = routingPaths(name);
    const path = via === 'userv' ? p.uservFile : p.sudoersFile;
    await ctx.run(['rm', '-f', '--', path], { affects: [path] });
  },
});

const hookOptions = z.object({ via: z.enum(['userv', 'sudo']), name: nameSchema.default(DEFAULT_NAME) }).strict();

/**
 * On a container host: what lets its containers' veth hooks route the addresses the
 * containers declare: the routing image, the hook LXC calls, and userv's service (or a
 * sudoers drop-in keeping LXC's hook variables) for the containers' owners.
 */
export function routingHook(options: z.input<typeof hookOptions>): Propapp {
  const { via, name } = hookOptions.parse(options);
  const p = routingPaths(name);
  return desc(
    `containers' veth routes, through ${via}`,
    eseq(
      aptInstalled(via, 'iproute2'),
      dumped({
        path: p.image,
        entry: ownModule('veth-route'),
        keepEnv: via === 'userv' ? ['USERV_*'] : ['LXC_*', 'SUDO_USER', 'SUDO_UID'],
      }),
      hasContent(p.hook, hookText(via, name), { mode: 0o755, owner: 'root', group: 'root' }),
      callersAllowed(via, name),
    ),
  );
}

/**
 * The lines of a container's LXC config that call the hook (of the routing setup `name`)
 * when its veth `index` comes up and goes down, with the addresses the container routes
 * for `owner`.
 */
export function hookLines(container: Host, owner: string, options: { index?: number; name?: string } = {}): string[] {
  const addresses = container.attrs
    .get(routesAttr)
    .filter((r) => r.user === owner)
    .map((r) => r.address);
  if (addresses.length === 0) return [];
  const { hook } = routingPaths(options.name);
  const index = options.index ?? 0;
  return [
    'lxc.hook.version = 1',
    `lxc.net.${index}.script.up = ${hook} ${addresses.join(' ')}`,
    `lxc.net.${index}.script.down = ${hook} ${addresses.join(' ')}`,
  ];
}
