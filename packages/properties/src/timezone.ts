/**
 * timezone: /etc/localtime a link into /usr/share/zoneinfo and /etc/timezone naming
 * the zone, as tzdata's own configuration leaves them. configuredFromParent gives a
 * nested host (chroot, container, VM) the zone its parent host configured.
 */
import {
  defprop,
  hostattr,
  type HostattrView,
  type PropertyContext,
  withParams,
  type Arg,
} from '@consfig/core/property';
import { z } from 'zod';
import { change, metadataChange, replaceWithSymlink } from './text-file.js';

/** The zone a host's timezone.configured set. */
export const timezoneAttr = hostattr('timezone', z.string());

const zone = z
  .string()
  .regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, "must be a zone name such as 'Europe/Berlin' or 'UTC'");

const prefetch = (tz: string) => [
  { path: '/etc/localtime' },
  { path: '/etc/timezone', content: true },
  { path: `/usr/share/zoneinfo/${tz}` },
];

async function check(ctx: PropertyContext, tz: string) {
  const link = await ctx.stat('/etc/localtime');
  const tzFile = await ctx.stat('/etc/timezone');
  const named = tzFile.exists && tzFile.type === 'file' ? await ctx.readFile('/etc/timezone') : null;
  const target = `/usr/share/zoneinfo/${tz}`;
  const changes = [];
  if (!(link.exists && link.type === 'symlink' && link.target === target))
    changes.push(metadataChange(link, `symlink to ${target}`));
  if (named?.toString('utf8') !== `${tz}\n`) changes.push(change('/etc/timezone', named, Buffer.from(`${tz}\n`)));
  return changes.length === 0 ? true : { applied: false, changes };
}

async function apply(ctx: PropertyContext, tz: string) {
  const zoneFile = await ctx.stat(`/usr/share/zoneinfo/${tz}`);
  if (!zoneFile.exists)
    ctx.fail(`there is no zone ${tz} on ${ctx.hostname} (/usr/share/zoneinfo/${tz}; is tzdata installed?)`);
  const link = await ctx.stat('/etc/localtime');
  if (link.exists && link.type === 'directory') ctx.fail('/etc/localtime is a directory');
  await replaceWithSymlink(ctx, '/etc/localtime', `/usr/share/zoneinfo/${tz}`);
  await ctx.writeFile('/etc/timezone', `${tz}\n`);
}

/** The time zone is `zone` (such as Europe/Berlin): /etc/timezone and /etc/localtime. */
export const configured = withParams<[zone: Arg]>()(
  defprop({
    name: 'timezone.configured',
    desc: (tz) => `time zone is ${tz}`,
    args: z.tuple([zone]),
    argNames: ['zone'],
    hostattrs: (h, tz) => h.push(timezoneAttr, tz),
    prefetch,
    check,
    apply,
  }),
);

function parentZone(parent: HostattrView | undefined): string | undefined {
  return parent?.first(timezoneAttr);
}

/** The time zone is the parent host's (for a chroot, container or VM being built). */
export const configuredFromParent = defprop({
  name: 'timezone.configuredFromParent',
  desc: 'time zone as the parent host has it',
  args: z.tuple([]),
  hostattrs: (h) => {
    const tz = parentZone(h.parent);
    if (tz === undefined) {
      h.inapplicable(
        h.parent
          ? `${h.hostname}'s parent host configures no time zone (give it timezone.configured)`
          : `${h.hostname} is not a nested host, so it has no parent to take a time zone from`,
      );
    }
    h.push(timezoneAttr, tz);
  },
  check: (ctx) => check(ctx, parentZone(ctx.attrs.parent)!),
  apply: (ctx) => apply(ctx, parentZone(ctx.attrs.parent)!),
});
