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
import { defprop, desc, eseq, hostattr, tempPathFor, type Host, type Propapp, type PropertyContext } from '@consfig/core';
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
export const routes = defprop({
  name: 'veth.routes',
  desc: (user, a) => `${user} routes ${a}`,
  args: z.tuple([userName, address]),
  argNames: ['user', 'address'],
  hostattrs: (h, user, a) => h.push(routesAttr, { user, address: a }),
});

export const IMAGE = '/usr/local/lib/consfig/veth-route';
export const HOOK = '/usr/local/lib/consfig/veth-hook';
const USERV_SERVICE = '/etc/userv/services.d/consfig-veth-route';
const SUDOERS = '/etc/sudoers.d/consfig-veth-route';

function hookText(via: 'userv' | 'sudo'): string {
  const call =
    via === 'userv'
      ? 'exec userv -DHOOK_TYPE="$LXC_HOOK_TYPE" -DPEER="$LXC_NET_PEER" -DNAME="$LXC_NAME" root consfig-veth-route "$@"'
      : `exec sudo -n ${IMAGE} "$@"`;
  return `#!/bin/sh
# Written by consfig. LXC runs this as the container's owner (lxc.net.N.script.up and
# .down) with the addresses of its line, then TYPE LINK PEER of its own: it asks
# ${IMAGE}, as root through ${via}, to route the addresses to the peer.
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

function uservText(owners: readonly string[]): string {
  return `# Written by consfig: the LXC veth hooks of these users may route their containers' addresses.
if ( glob service-user root
   & glob calling-user ${owners.join(' ')}
   )
	reset
	no-suppress-args
	no-set-environment
	execute ${IMAGE}
fi
`;
}

function sudoersText(owners: readonly string[]): string {
  return `# Written by consfig: the LXC veth hooks of these users may route their containers' addresses.
Defaults!${IMAGE} env_keep += "LXC_*"
${owners.join(', ')} ALL=(root) NOPASSWD: ${IMAGE}
`;
}

/** Who may call the image: userv's service file, or a sudoers drop-in checked by visudo first. */
const callersAllowed = defprop({
  name: 'veth.callersAllowed',
  desc: (via) => `who may route through ${via}`,
  args: z.tuple([z.enum(['userv', 'sudo'])]),
  argNames: ['via'],
  check: async (ctx, via) => {
    const owners = routingOwners(ctx);
    const path = via === 'userv' ? USERV_SERVICE : SUDOERS;
    const want = Buffer.from(owners.length === 0 ? '' : via === 'userv' ? uservText(owners) : sudoersText(owners));
    const old = await regularContent(ctx, path);
    if (owners.length === 0) return old === null || { applied: false, changes: [change(path, old, null)] };
    return old?.equals(want) ? true : { applied: false, changes: [change(path, old, want)] };
  },
  apply: async (ctx, via) => {
    const owners = routingOwners(ctx);
    const path = via === 'userv' ? USERV_SERVICE : SUDOERS;
    if (owners.length === 0) {
      await ctx.run(['rm', '-f', '--', path], { affects: [path] });
      return;
    }
    if (via === 'userv') {
      await ctx.run(['mkdir', '-p', '/etc/userv/services.d'], { affects: ['/etc/userv/services.d'] });
      await ctx.writeFile(path, uservText(owners), { mode: 0o644, owner: '0', group: '0' });
      return;
    }
    // A broken sudoers file breaks sudo for everyone: visudo checks it before it goes in
    // (a name with a dot, which sudo's includedir skips, until then).
    const tmp = tempPathFor(path);
    await ctx.writeFile(tmp, sudoersText(owners), { mode: 0o440, owner: '0', group: '0' });
    const checked = await ctx.run(['visudo', '-cqf', tmp], { allowFailure: true, affects: [tmp] });
    if (checked.exitCode !== 0) {
      await ctx.run(['rm', '-f', '--', tmp], { affects: [tmp] });
      ctx.fail(`visudo refused the sudoers rules for ${path}: ${checked.stderr.trim() || checked.stdout.trim()}`);
    }
    await ctx.run(['mv', '-fT', '--', tmp, path], { affects: [tmp, path] });
  },
  unapply: async (ctx, via) => {
    const path = via === 'userv' ? USERV_SERVICE : SUDOERS;
    await ctx.run(['rm', '-f', '--', path], { affects: [path] });
  },
});

const hookOptions = z.object({ via: z.enum(['userv', 'sudo']) }).strict();

/**
 * On a container host: what lets its containers' veth hooks route the addresses the
 * containers declare: the routing image, the hook LXC calls, and userv's service (or a
 * sudoers drop-in keeping LXC's hook variables) for the containers' owners.
 */
export function routingHook(options: z.input<typeof hookOptions>): Propapp {
  const { via } = hookOptions.parse(options);
  return desc(
    `containers' veth routes, through ${via}`,
    eseq(
      aptInstalled(via, 'iproute2'),
      dumped({ path: IMAGE, entry: ownModule('veth-route'), keepEnv: via === 'userv' ? ['USERV_*'] : ['LXC_*', 'SUDO_USER', 'SUDO_UID'] }),
      hasContent(HOOK, hookText(via), { mode: 0o755, owner: 'root', group: 'root' }),
      callersAllowed(via),
    ),
  );
}

/**
 * The lines of a container's LXC config that call the hook when its veth `index` comes
 * up and goes down, with the addresses the container routes for `owner`.
 */
export function hookLines(container: Host, owner: string, index = 0): string[] {
  const addresses = container.attrs.get(routesAttr).filter((r) => r.user === owner).map((r) => r.address);
  if (addresses.length === 0) return [];
  return [
    'lxc.hook.version = 1',
    `lxc.net.${index}.script.up = ${HOOK} ${addresses.join(' ')}`,
    `lxc.net.${index}.script.down = ${HOOK} ${addresses.join(' ')}`,
  ];
}
