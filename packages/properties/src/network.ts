/**
 * network: interfaces for ifupdown (a stanza file per interface under
 * /etc/network/interfaces.d, which Debian's interfaces file sources), .network files for
 * systemd-networkd, /etc/hosts entries and /etc/resolv.conf. Files only: nothing is
 * brought up or down here (a reboot, `ifup`, or networkd's reload does that).
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { defprop, isValidHostname, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { change, checkLines, joinLines, regularContent, rewriteLines } from './text-file.js';

const ifaceName = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be an interface name (up to 15 characters)');
const cidr = z.string().refine(
  (a) => {
    const [ip, prefix, ...rest] = a.split('/');
    const family = isIP(ip ?? '');
    const max = family === 6 ? 128 : 32;
    return family !== 0 && rest.length === 0 && prefix !== undefined && /^\d+$/.test(prefix) && Number(prefix) <= max;
  },
  { message: "must be an address with its prefix, such as '192.0.2.10/24' or '2001:db8::10/64'" },
);
const address = z.string().refine((a) => isIP(a) !== 0, { message: 'must be an IPv4 or IPv6 address' });
const addresses = z
  .union([address, z.array(address)])
  .transform((a) => (typeof a === 'string' ? [a] : a))
  .optional();

const staticOptions = z
  .object({ address: cidr, gateway: address.optional(), dns: addresses, mtu: z.number().int().min(68).optional() })
  .strict();

const stanzaPath = (iface: string) => `/etc/network/interfaces.d/${iface}`;

/** A stanza file's content, and the check and write of it. */
function stanzaProperty<A extends unknown[], I extends unknown[]>(
  name: string,
  args: z.ZodType<A, z.ZodTypeDef, I>,
  argNames: string[],
  text: (...a: A) => string,
) {
  return defprop({
    name: `network.${name}`,
    desc: (...a: A) => `interface ${String(a[0])} (${name})`,
    args,
    argNames,
    prefetch: (...a: A) => [
      { path: stanzaPath(String(a[0])), content: true },
      { path: '/etc/network/interfaces', content: true },
    ],
    check: async (ctx, ...a: A) => {
      const path = stanzaPath(String(a[0]));
      const old = await regularContent(ctx, path);
      const want = Buffer.from(text(...a));
      const changes = [];
      if (!old?.equals(want)) changes.push(change(path, old, want));
      const sourced = await checkLines(ctx, '/etc/network/interfaces', sourceLine);
      if (sourced !== true && typeof sourced === 'object') changes.push(...(sourced.changes ?? []));
      return changes.length === 0 ? true : { applied: false, changes };
    },
    apply: async (ctx, ...a: A) => {
      await rewriteLines(ctx, '/etc/network/interfaces', sourceLine);
      await ctx.writeFile(stanzaPath(String(a[0])), text(...a), { mode: 0o644 });
    },
    unapply: async (ctx, ...a: A) => {
      await ctx.run(['rm', '-f', '--', stanzaPath(String(a[0]))], { affects: [stanzaPath(String(a[0]))] });
    },
  });
}

/** Debian's /etc/network/interfaces sources interfaces.d; one that does not gets the line. */
const SOURCE = 'source /etc/network/interfaces.d/*';
const sourceLine = (old: string[]) =>
  old.some((l) => /^\s*source(-directory)?\s+\/etc\/network\/interfaces\.d/.test(l)) ? old : [...old, SOURCE];

/** `iface` is configured by DHCP: its own stanza in /etc/network/interfaces.d (ifupdown). */
export const dhcp = withParams<[iface: Arg]>()(
  stanzaProperty('dhcp', z.tuple([ifaceName]), ['interface'], (iface) =>
    joinLines([`auto ${iface}`, `iface ${iface} inet dhcp`]),
  ),
);

/** `iface` has the static `options.address` (CIDR), gateway, DNS servers and MTU: its own ifupdown stanza. */
export const staticAddress = withParams<[iface: Arg, options: Arg]>()(
  stanzaProperty('staticAddress', z.tuple([ifaceName, staticOptions]), ['interface', 'options'], (iface, o) =>
    joinLines([
      `auto ${iface}`,
      `iface ${iface} ${isIP(o.address.split('/')[0]!) === 6 ? 'inet6' : 'inet'} static`,
      `    address ${o.address}`,
      ...(o.gateway ? [`    gateway ${o.gateway}`] : []),
      ...(o.dns?.length ? [`    dns-nameservers ${o.dns.join(' ')}`] : []),
      ...(o.mtu ? [`    mtu ${o.mtu}`] : []),
    ]),
  ),
);

const networkdOptions = z
  .object({
    match: z.record(z.string().regex(/^[A-Z][A-Za-z]+$/, 'must be a [Match] key such as Name'), z.string()),
    dhcp: z.enum(['yes', 'no', 'ipv4', 'ipv6']).optional(),
    address: z.union([cidr, z.array(cidr)]).optional(),
    gateway: addresses,
    dns: addresses,
  })
  .strict();

function networkdText(o: z.output<typeof networkdOptions>): string {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : v);
  return joinLines([
    '[Match]',
    ...Object.entries(o.match).map(([k, v]) => `${k}=${v}`),
    '',
    '[Network]',
    ...(o.dhcp ? [`DHCP=${o.dhcp}`] : []),
    ...list(o.address).map((a) => `Address=${a}`),
    ...list(o.gateway).map((g) => `Gateway=${g}`),
    ...list(o.dns).map((d) => `DNS=${d}`),
  ]);
}

const fileName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a file name such as 10-eth0');

/** /etc/systemd/network/NAME.network for systemd-networkd. */
export const networkdFile = withParams<[name: Arg, options: Arg]>()(
  defprop({
    name: 'network.networkdFile',
    desc: (name) => `/etc/systemd/network/${name}.network`,
    args: z.tuple([fileName, networkdOptions]),
    argNames: ['name', 'options'],
    prefetch: (name) => [{ path: `/etc/systemd/network/${name}.network`, content: true }],
    check: async (ctx, name, o) => {
      const path = `/etc/systemd/network/${name}.network`;
      const old = await regularContent(ctx, path);
      const want = Buffer.from(networkdText(o));
      return old?.equals(want) ? true : { applied: false, changes: [change(path, old, want)] };
    },
    apply: async (ctx, name, o) => {
      await ctx.run(['mkdir', '-p', '/etc/systemd/network'], { affects: ['/etc/systemd/network'] });
      await ctx.writeFile(`/etc/systemd/network/${name}.network`, networkdText(o), { mode: 0o644 });
    },
    unapply: async (ctx, name) => {
      await ctx.run(['rm', '-f', '--', `/etc/systemd/network/${name}.network`], { affects: ['/etc/systemd/network'] });
    },
  }),
);

const names = z.array(z.string().refine(isValidHostname, 'must be host names')).min(1, 'give at least one name');

/** /etc/hosts maps `address` to these names, on one line of its own (an older line for the address replaced). */
const hostsLine = (addr: string, list: readonly string[]) => (old: string[]) => {
  const line = `${addr}\t${list.join('\t')}`;
  const at = old.findIndex((l) => l.split(/\s+/)[0] === addr);
  if (at === -1) return [...old, line];
  return old.map((l, i) => (i === at ? line : l)).filter((l, i) => i === at || l.split(/\s+/)[0] !== addr);
};

/** /etc/hosts maps `address` to exactly these names (its line replaced or added). */
export const hostsEntry = withParams<[address: Arg, ...names: Arg[]]>()(
  defprop({
    name: 'network.hostsEntry',
    desc: (addr, ...list) => `/etc/hosts: ${addr} ${list.join(' ')}`,
    args: z
      .tuple([address])
      .rest(z.string())
      .superRefine((a, ctx) => {
        const parsed = names.safeParse(a.slice(1));
        if (!parsed.success)
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [1], message: parsed.error.issues[0]!.message });
      }) as unknown as z.ZodType<[string, ...string[]], z.ZodTypeDef, [string, ...string[]]>,
    argNames: ['address', 'names'],
    prefetch: () => [{ path: '/etc/hosts', content: true }],
    check: (ctx, addr, ...list) => checkLines(ctx, '/etc/hosts', hostsLine(addr, list)),
    apply: (ctx, addr, ...list) => rewriteLines(ctx, '/etc/hosts', hostsLine(addr, list)),
    unapply: (ctx, addr) => rewriteLines(ctx, '/etc/hosts', (old) => old.filter((l) => l.split(/\s+/)[0] !== addr)),
  }),
);

const resolvOptions = z
  .object({
    nameservers: z.array(address).min(1, 'give at least one nameserver').max(3, 'the resolver reads at most 3'),
    search: z.array(z.string().refine(isValidHostname, 'must be domain names')).optional(),
    options: z
      .array(z.string().regex(/^[a-z0-9-]+(:\d+)?$/, "must be resolver options such as 'edns0', 'timeout:2'"))
      .optional(),
  })
  .strict();

/**
 * The file under a bind mount at `path` (a chroot connection lends the deploying side's
 * resolv.conf so): seen through a bind of its directory, which does not carry the mounts
 * below it; for reading. Only in this connection's mount namespace, gone after `use`.
 */
async function underMount<T>(ctx: PropertyContext, path: string, use: (seen: string) => Promise<T>): Promise<T> {
  const made = await ctx.run(
    ['sh', '-c', 'd=$(mktemp -d) && mount --bind "$(dirname "$1")" "$d" && echo "$d"', 'sh', path],
    { affects: ['/tmp'] },
  );
  const dir = made.stdout.trim();
  try {
    return await use(`${dir}/${posix.basename(path)}`);
  } finally {
    await ctx.run(['sh', '-c', 'umount "$1" && rmdir "$1"', 'sh', dir], { affects: ['/tmp'], allowFailure: true });
  }
}

const isMount = (ctx: PropertyContext, path: string) => ctx.test(['mountpoint', '-q', path]);

/**
 * /etc/resolv.conf as given (a link there, systemd-resolved's, is replaced by the file).
 * Under a chroot connection the tree's own file is set, while the connection goes on
 * resolving names with the one it lends.
 */
export const resolvConf = withParams<[options: Arg]>()(
  defprop({
    name: 'network.resolvConf',
    desc: '/etc/resolv.conf',
    args: z.tuple([resolvOptions]),
    argNames: ['options'],
    prefetch: () => [{ path: '/etc/resolv.conf', content: true }],
    check: async (ctx, o) => {
      const want = Buffer.from(resolvText(o));
      let old = await regularContent(ctx, '/etc/resolv.conf');
      if (!old?.equals(want) && (await isMount(ctx, '/etc/resolv.conf'))) {
        old = await underMount(ctx, '/etc/resolv.conf', (seen) => regularContent(ctx, seen));
      }
      return old?.equals(want) ? true : { applied: false, changes: [change('/etc/resolv.conf', old, want)] };
    },
    apply: async (ctx, o) => {
      if (!(await isMount(ctx, '/etc/resolv.conf'))) {
        await ctx.writeFile('/etc/resolv.conf', resolvText(o), { mode: 0o644 });
        return;
      }
      // Nothing renames over a file mounted on (EBUSY): the lent one is kept aside, the mount
      // lifted, the file replaced, and the lent one mounted back for the rest of the run.
      const aside = (
        await ctx.run(['sh', '-c', 't=$(mktemp) && mount --bind /etc/resolv.conf "$t" && echo "$t"'], {
          affects: ['/tmp'],
        })
      ).stdout.trim();
      try {
        await ctx.run(['umount', '/etc/resolv.conf'], { affects: ['/etc/resolv.conf'] });
        await ctx.writeFile('/etc/resolv.conf', resolvText(o), { mode: 0o644 });
      } finally {
        await ctx.run(['sh', '-c', 'mount --bind "$1" /etc/resolv.conf; umount "$1" && rm -f "$1"', 'sh', aside], {
          affects: ['/etc/resolv.conf', '/tmp'],
        });
      }
    },
  }),
);

function resolvText(o: z.output<typeof resolvOptions>): string {
  return joinLines([
    '# Written by consfig',
    ...(o.search?.length ? [`search ${o.search.join(' ')}`] : []),
    ...o.nameservers.map((n) => `nameserver ${n}`),
    ...(o.options?.length ? [`options ${o.options.join(' ')}`] : []),
  ]);
}
