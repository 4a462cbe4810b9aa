/**
 * apt, second wave: backports, pinning, signed-by keyrings, unattended upgrades,
 * autoremove, and a nested host's use of its parent's proxy and mirrors.
 */
import { attrs, defprop, desc, eseq, onChange, type Propapp, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';
import { aptGet, debianOnly, installed, mirrorsAttr, PROXY_FILE, proxyAttr, updated } from './apt.js';
import { hasContent } from './file.js';
import { change, regularContent } from './text-file.js';

const ROLLING = new Set(['sid', 'unstable', 'testing']);

/** A file whose whole content is computed from the host (its suite, its parent's proxy). */
function computedFile(path: string, text: (ctx: PropertyContext) => string) {
  return {
    prefetch: () => [{ path, content: true }],
    check: async (ctx: PropertyContext) => {
      const old = await regularContent(ctx, path);
      const want = Buffer.from(text(ctx));
      return old?.equals(want) ? true : { applied: false, changes: [change(path, old, want)] };
    },
    apply: async (ctx: PropertyContext) => {
      await ctx.writeFile(path, text(ctx), { mode: 0o644 });
    },
  };
}

const BACKPORTS = '/etc/apt/sources.list.d/backports.sources';
const backportsSources = defprop({
  name: 'apt.backportsSources',
  desc: 'backports sources',
  hostattrs: (h) => {
    debianOnly('apt.backports')(h);
    const suite = h.first(attrs.os)?.suite;
    if (!suite) return h.inapplicable('apt.backports needs the host to declare its Debian suite');
    if (ROLLING.has(suite)) h.inapplicable(`apt.backports is for stable suites, not ${suite}`);
  },
  ...computedFile(BACKPORTS, (ctx) => {
    const suite = ctx.attrs.first(attrs.os)!.suite!;
    const mirror = ctx.attrs.get(mirrorsAttr)[0] ?? 'http://deb.debian.org/debian';
    return (
      `Types: deb\nURIs: ${mirror}\nSuites: ${suite}-backports\nComponents: main\n` +
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    );
  }),
  unapply: async (ctx) => {
    await ctx.run(['rm', '-f', '--', BACKPORTS], { affects: [BACKPORTS] });
  },
});

/** SUITE-backports from the host's mirror, lists updated on change (stable suites only). */
export function backports(): Propapp {
  return desc('apt backports', onChange(backportsSources(), updated()));
}

const pinStanza = z
  .object({
    packages: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    pin: z.string().regex(/^(release|version|origin) \S/, "must be a pin such as 'release n=bookworm-backports'"),
    priority: z.number().int('must be a whole number'),
  })
  .strict();
const stanzas = z
  .union([pinStanza, z.array(pinStanza).min(1, 'give at least one stanza')])
  .transform((s) => (Array.isArray(s) ? s : [s]));
const fileName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ and - (apt ignores other names)');

function preferences(list: z.output<typeof stanzas>): string[] {
  return list.flatMap((s, i) => [
    ...(i > 0 ? [''] : []),
    `Package: ${typeof s.packages === 'string' ? s.packages : s.packages.join(' ')}`,
    `Pin: ${s.pin}`,
    `Pin-Priority: ${s.priority}`,
  ]);
}

const pinnedProp = defprop({
  name: 'apt.pinned',
  desc: (name) => `apt preferences ${name}`,
  args: z.tuple([fileName, stanzas]),
  argNames: ['name', 'stanzas'],
  hostattrs: debianOnly('apt.pinned'),
  prefetch: (name) => [{ path: `/etc/apt/preferences.d/${name}`, content: true }],
  check: async (ctx, name, list) => {
    const path = `/etc/apt/preferences.d/${name}`;
    const old = await regularContent(ctx, path);
    const want = Buffer.from(`${preferences(list).join('\n')}\n`);
    return old?.equals(want) ? true : { applied: false, changes: [change(path, old, want)] };
  },
  apply: async (ctx, name, list) => {
    await ctx.writeFile(`/etc/apt/preferences.d/${name}`, `${preferences(list).join('\n')}\n`, { mode: 0o644 });
  },
  unapply: async (ctx, name) => {
    await ctx.run(['rm', '-f', '--', `/etc/apt/preferences.d/${name}`], { affects: ['/etc/apt/preferences.d'] });
  },
});

/** /etc/apt/preferences.d/NAME with these pins (`{ packages, pin, priority }`, or a list). */
export function pinned(name: string, pins: unknown): Propapp {
  return pinnedProp(name, pins as never);
}

const key = z.union(
  [
    z
      .string()
      .refine((k) => /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\s*$/.test(k), {
        message: 'must be an ASCII-armored public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)',
      }),
    z.instanceof(Uint8Array),
  ],
  { errorMap: () => ({ message: 'must be an ASCII-armored public key, or a binary keyring as bytes' }) },
);

/**
 * A keyring apt sources can name with `Signed-By:`: /etc/apt/keyrings/NAME.asc for an
 * armored key, NAME.gpg for a binary one (never apt-key or trusted.gpg.d).
 */
export function trustsKey(name: string, publicKey: string | Uint8Array): Propapp {
  return desc(`apt trusts key ${name}`, trustedKey(name, publicKey as string));
}

/** Where the keyring goes: .asc for an armored key, .gpg for a binary keyring. */
const keyringPath = (name: string, k: string | Uint8Array) =>
  `/etc/apt/keyrings/${name}.${typeof k === 'string' ? 'asc' : 'gpg'}`;
/** The keyring's bytes: armored text ends with a newline. */
const keyringData = (k: string | Uint8Array) =>
  typeof k === 'string' ? Buffer.from(k.endsWith('\n') ? k : `${k}\n`) : Buffer.from(k);

const trustedKey = defprop({
  name: 'apt.trustsKey',
  desc: (name) => `keyring ${name}`,
  args: z.tuple([fileName, key]),
  argNames: ['name', 'key'],
  hostattrs: debianOnly('apt.trustsKey'),
  prefetch: (name, k) => [{ path: keyringPath(name, k), content: true }],
  check: async (ctx, name, k) => {
    const path = keyringPath(name, k);
    const old = await regularContent(ctx, path);
    const want = keyringData(k);
    if (old?.equals(want)) return true;
    // A binary keyring is not text to diff.
    return {
      applied: false,
      changes: [
        typeof k === 'string'
          ? change(path, old, want)
          : { path, before: old ? 'a keyring' : 'absent', after: 'the keyring given', kind: 'metadata' as const },
      ],
    };
  },
  apply: async (ctx, name, k) => {
    await ctx.run(['mkdir', '-p', '-m', '0755', '/etc/apt/keyrings'], { affects: ['/etc/apt/keyrings'] });
    await ctx.writeFile(keyringPath(name, k), keyringData(k), { mode: 0o644, owner: 'root', group: 'root' });
  },
  unapply: async (ctx, name, k) => {
    await ctx.run(['rm', '-f', '--', keyringPath(name, k)], { affects: [keyringPath(name, k)] });
  },
});

/** unattended-upgrades installed and run daily by apt's timer (20auto-upgrades). */
export function unattendedUpgrades(): Propapp {
  return desc(
    'apt unattended upgrades',
    eseq(
      installed('unattended-upgrades'),
      hasContent('/etc/apt/apt.conf.d/20auto-upgrades', [
        'APT::Periodic::Update-Package-Lists "1";',
        'APT::Periodic::Unattended-Upgrade "1";',
      ]),
    ),
  );
}

/** Packages installed only as dependencies of removed ones are removed (`apt-get autoremove`). */
export const autoremoved = defprop({
  name: 'apt.autoremoved',
  desc: 'apt autoremoved',
  hostattrs: debianOnly('apt.autoremoved'),
  check: async (ctx) => {
    const r = await ctx.run(['apt-get', '-s', 'autoremove'], { readOnly: true, env: { LC_ALL: 'C' } });
    return !/^Remv /m.test(r.stdout);
  },
  apply: async (ctx) => {
    await aptGet(ctx, ['autoremove']);
  },
});

/** The parent host's proxy (a nested host: a chroot, container or VM being built). */
export const usesParentProxy = defprop({
  name: 'apt.usesParentProxy',
  desc: "apt uses the parent host's proxy",
  hostattrs: (h) => {
    const url = h.parent?.first(proxyAttr);
    if (url === undefined) {
      h.inapplicable(h.parent ? `${h.hostname}'s parent host has no apt.proxy` : `${h.hostname} is not a nested host`);
    }
    h.push(proxyAttr, url);
  },
  ...computedFile(PROXY_FILE, (ctx) => `Acquire::http::Proxy "${ctx.attrs.first(proxyAttr)!}";\n`),
});

/** The parent host's mirrors, for standardSourcesList and bootstrappers (hostattrs only). */
export const usesParentMirrors = defprop({
  name: 'apt.usesParentMirrors',
  desc: "apt uses the parent host's mirrors",
  hostattrs: (h) => {
    const urls = h.parent?.get(mirrorsAttr) ?? [];
    if (urls.length === 0) {
      h.inapplicable(
        h.parent ? `${h.hostname}'s parent host has no apt.mirrors` : `${h.hostname} is not a nested host`,
      );
    }
    h.push(mirrorsAttr, ...urls);
  },
});
