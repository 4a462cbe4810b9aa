/**
 * apt: packages and sources on Debian hosts. Everything runs noninteractively with a
 * dpkg lock timeout; an install that fails for missing or stale lists refreshes them
 * once and retries; the installed set is read once per deployment (from dpkg's status
 * file where it can be, else dpkg-query) and kept until an apt property changes
 * something, so many checks cost one read.
 */
import {
  CommandFailedError,
  defprop,
  desc,
  eseq,
  hasAttr,
  hostattr,
  invalidApplication,
  onChange,
  requireOs,
  type HostattrsContext,
  type Propapp,
  type PropertyContext,
  attrs,
  withParams,
  type Arg,
  type CheckResult,
} from '@consfig/core/property';
import { z } from 'zod';
import { hasContent } from './file.js';
import { change, regularContent } from './text-file.js';

const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/, 'must be a Debian package name');
const packages = z.array(packageName).min(1, 'give at least one package') as unknown as z.ZodType<
  string[],
  z.ZodTypeDef,
  string[]
>;
const httpUrl = z
  .string()
  .url('must be a URL such as http://proxy:3142')
  .refine((u) => /^https?:\/\//.test(u), { message: 'must be an http:// or https:// URL' });

/** The apt proxy a host uses; bootstrappers building its root filesystem use it too. */
export const proxyAttr = hostattr('apt.proxy', httpUrl);
/** The archive mirrors a host uses, first preferred. */
export const mirrorsAttr = hostattr('apt.mirrors', httpUrl);

export const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' };
const APT_OPTS = [
  '-o',
  'DPkg::Lock::Timeout=300',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
];
const STALE = /Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found/;
const INSTALLED = 'apt.installed-set';

// Typed with a rest parameter so that it does not pin the property's argument types.
export const debianOnly =
  (name: string) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (h: HostattrsContext, ..._args: any[]): void =>
    void requireOs(h, name, { distribution: 'debian' });

/** dpkg's database, where dpkg-query reads it (the default admin directory). */
const DPKG_STATUS = '/var/lib/dpkg/status';
/** The first of dpkg's journal of changes not yet in the status file (numbered from 0000). */
const DPKG_JOURNAL = '/var/lib/dpkg/updates/0000';
/** Triggers activated and not yet in the status file: dpkg-query shows them pending. */
const DPKG_UNINCORPORATED = '/var/lib/dpkg/triggers/Unincorp';

/** What the installed set is read from: fetched with the deployment's first probe. */
const dpkgPrefetch = () => [
  { path: DPKG_STATUS, content: true },
  { path: DPKG_JOURNAL },
  { path: DPKG_UNINCORPORATED },
];

/** Package states of a database at rest; any other (half-installed, triggers-awaited…) is dpkg-query's to tell. */
const AT_REST = new Set(['installed', 'not-installed', 'config-files']);

/**
 * The fully installed packages (`ii` to dpkg-query: wanted for install, installed) of a
 * status file, or undefined where dpkg-query might tell otherwise: a package in the
 * middle of a change, or a stanza this does not read.
 */
export function installedInStatus(text: string): Set<string> | undefined {
  const set = new Set<string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    if (stanza.trim() === '') continue;
    const name = /^Package:[ \t]*(\S+)[ \t]*$/m.exec(stanza)?.[1];
    const status = /^Status:[ \t]*(\S+)[ \t]+(\S+)[ \t]+(\S+)[ \t]*$/m.exec(stanza);
    if (!name || !status || !AT_REST.has(status[3]!)) return undefined;
    if (status[1] === 'install' && status[3] === 'installed') set.add(name);
  }
  return set;
}

/**
 * The installed set from dpkg's status file, fetched with the deployment's probes (no
 * process, no round trip of its own), where nothing makes dpkg-query's view differ: no
 * journal of changes not yet in it, no triggers not yet in it, every package at rest.
 */
async function installedFromStatus(ctx: PropertyContext): Promise<Set<string> | undefined> {
  const [status, journal, triggers] = await Promise.all(
    [DPKG_STATUS, DPKG_JOURNAL, DPKG_UNINCORPORATED].map((p) => ctx.stat(p)),
  );
  if (!status!.exists || status!.type !== 'file' || journal!.exists) return undefined;
  if (triggers!.exists && (triggers!.type !== 'file' || triggers!.size !== 0)) return undefined;
  try {
    return installedInStatus((await ctx.readFile(DPKG_STATUS)).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Every fully installed package, read once per deployment and kept until apt changes
 * something: from the status file where it says what dpkg-query would, else dpkg-query.
 */
function installedSet(ctx: PropertyContext): Promise<Set<string>> {
  return ctx.memo(INSTALLED, async () => {
    const read = await installedFromStatus(ctx);
    if (read) return read;
    const r = await ctx.run(['dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\\n'], { readOnly: true });
    return new Set(
      r.stdout
        .split('\n')
        .filter((l) => /^\S+ ii/.test(l))
        .map((l) => l.split(' ')[0]!),
    );
  });
}

/** A package's name as dpkg lists it (without `:arch`). */
const bare = (pkg: string) => pkg.replace(/:.*$/, '');

/** Which of `pkgs` dpkg does not have fully installed. */
export async function missingPackages(ctx: PropertyContext, pkgs: readonly string[]): Promise<string[]> {
  const set = await installedSet(ctx);
  return pkgs.filter((p) => !set.has(bare(p)));
}

/** What `consfig check` shows of packages to install or remove: dpkg's database changes. */
function packagesChange(pkgs: readonly string[], before: string, after: string): CheckResult {
  const names = pkgs.join(', ');
  return {
    applied: false,
    changes: [{ path: DPKG_STATUS, before: `${names} ${before}`, after: `${names} ${after}`, kind: 'metadata' }],
  };
}

/** apt-get with the usual options; refresh the lists and retry once when they are stale. */
export async function aptGet(ctx: PropertyContext, args: string[]): Promise<void> {
  ctx.forget(INSTALLED);
  const run = () => ctx.run(['apt-get', '-y', ...APT_OPTS, ...args], { env: APT_ENV, allowFailure: true });
  let r = await run();
  if (r.exitCode !== 0 && STALE.test(r.stdout + r.stderr)) {
    await ctx.run(['apt-get', ...APT_OPTS, 'update'], { env: APT_ENV });
    r = await run();
  }
  if (r.exitCode !== 0)
    throw new CommandFailedError(r.raw.argv, r.exitCode, r.stdout, r.stderr, { host: ctx.hostname });
}

/**
 * In `consfig check`: whether apt-get could do it, asked of its simulation (`-s`, which
 * changes nothing; with `-y` as the deploy runs it, whose refusals it shares, such as an
 * Essential package removed). Where it could not, the check fails as the deploy would,
 * unless a property before this one would change apt's sources or lists (or something
 * unknown); where the host has no package lists yet, which the deploy would fetch first,
 * it says so.
 */
async function simulate(ctx: PropertyContext, args: string[]): Promise<void> {
  const r = await ctx.run(['apt-get', '-y', '-s', ...APT_OPTS, ...args], {
    env: APT_ENV,
    allowFailure: true,
    readOnly: true,
  });
  if (r.exitCode === 0) return;
  const output = r.stdout + r.stderr;
  const errors = output.split('\n').filter((l) => l.startsWith('E: '));
  const why = errors.map((l) => l.slice(3)).join('; ') || `apt-get -s exited ${r.exitCode}`;
  if (STALE.test(output) && !(await ctx.test(['sh', '-c', 'ls /var/lib/apt/lists | grep -q _Packages']))) {
    ctx.note(`${why}: there are no package lists yet, which the deploy fetches first`);
    return;
  }
  ctx.missing(`apt-get ${args[0]} would fail on ${ctx.hostname}: ${why}`, (path) =>
    /^\/(?:etc\/apt|var\/lib\/apt)\//.test(path),
  );
}

/** A property installing packages with `apt-get install OPTIONS...` (non-interactive); a Debian host only. */
function installing(name: string, words: string, options: readonly string[]) {
  return defprop({
    name,
    desc: (...pkgs: string[]) => `apt installed${words} ${pkgs.join(' ')}`,
    args: packages,
    argNames: ['packages'],
    hostattrs: debianOnly(name),
    prefetch: dpkgPrefetch,
    check: async (ctx, ...pkgs) => {
      const missing = await missingPackages(ctx, pkgs);
      if (missing.length === 0) return true;
      if (ctx.dryRun) {
        await simulate(ctx, ['install', ...options, ...missing]);
        // It goes on as if they were installed: a later property needing them would not
        // install them again (the same set, read once).
        const set = await installedSet(ctx);
        missing.forEach((p) => set.add(bare(p)));
      }
      return packagesChange(missing, 'not installed', 'installed');
    },
    apply: async (ctx, ...pkgs) => aptGet(ctx, ['install', ...options, ...(await missingPackages(ctx, pkgs))]),
    unapply: async (ctx, ...pkgs) => aptGet(ctx, ['remove', ...pkgs]),
  });
}

/** The packages are installed (apt-get install, non-interactive); a Debian host only. */
export const installed = withParams<[pkg: Arg, ...more: Arg[]]>()(installing('apt.installed', '', []));

/** The packages are installed without what they only recommend (`--no-install-recommends`). */
export const installedMinimally = withParams<[pkg: Arg, ...more: Arg[]]>()(
  installing('apt.installedMinimally', ' minimally', ['--no-install-recommends']),
);

/** The packages are not installed (apt-get remove); a Debian host only. */
export const removed = withParams<[pkg: Arg, ...more: Arg[]]>()(
  defprop({
    name: 'apt.removed',
    desc: (...pkgs) => `apt removed ${pkgs.join(' ')}`,
    args: packages,
    argNames: ['packages'],
    hostattrs: debianOnly('apt.removed'),
    prefetch: dpkgPrefetch,
    check: async (ctx, ...pkgs) => {
      const missing = await missingPackages(ctx, pkgs);
      const present = pkgs.filter((p) => !missing.includes(p));
      if (present.length === 0) return true;
      if (ctx.dryRun) {
        await simulate(ctx, ['remove', ...present]);
        // It goes on as if they were removed.
        const set = await installedSet(ctx);
        present.forEach((p) => set.delete(bare(p)));
      }
      return packagesChange(present, 'installed', 'removed');
    },
    apply: async (ctx, ...pkgs) => {
      const present = new Set(await missingPackages(ctx, pkgs));
      await aptGet(ctx, ['remove', ...pkgs.filter((p) => !present.has(p))]);
    },
  }),
);

/** The package lists are updated (apt-get update); always a change. */
export const updated = defprop({
  name: 'apt.updated',
  desc: 'apt lists updated',
  hostattrs: debianOnly('apt.updated'),
  apply: async (ctx) => {
    await ctx.run(['dpkg', '--configure', '--pending'], { env: APT_ENV });
    await ctx.run(['apt-get', ...APT_OPTS, 'update'], { env: APT_ENV });
  },
});

/** Every package is at its newest version (apt-get dist-upgrade). */
export const upgraded = defprop({
  name: 'apt.upgraded',
  desc: 'apt upgraded',
  hostattrs: debianOnly('apt.upgraded'),
  check: async (ctx) => {
    const r = await ctx.run(['apt-get', '-s', ...APT_OPTS, 'dist-upgrade'], { env: APT_ENV, readOnly: true });
    return /^0 upgraded, 0 newly installed, 0 to remove/m.test(r.stdout);
  },
  apply: (ctx) => aptGet(ctx, ['dist-upgrade']),
});

/** The downloaded package files are removed (apt-get clean). */
export const cacheCleaned = defprop({
  name: 'apt.cacheCleaned',
  desc: 'apt cache cleaned',
  hostattrs: debianOnly('apt.cacheCleaned'),
  check: (ctx) => ctx.test(['sh', '-c', '! ls /var/cache/apt/archives/*.deb >/dev/null 2>&1']),
  apply: async (ctx) => {
    await ctx.run(['apt-get', 'clean']);
  },
});

export const PROXY_FILE = '/etc/apt/apt.conf.d/00consfig-proxy';

/** Use an HTTP proxy for the archive (also a hostattr: bootstrappers use it). */
export function proxy(url: string): Propapp {
  return desc(
    `apt proxy ${url}`,
    eseq(hasAttr(proxyAttr, url), hasContent(PROXY_FILE, `Acquire::http::Proxy "${url}";`)),
  );
}

/** Prefer these mirrors (a hostattr, used by standardSourcesList and bootstrappers). */
export function mirrors(...urls: string[]): Propapp {
  return hasAttr(mirrorsAttr, ...urls);
}

/** /etc/apt/sources.list.d/debian.sources for the host's suite, from its mirrors. */
export const standardSourcesList = defprop({
  name: 'apt.standardSourcesList',
  desc: 'standard apt sources',
  hostattrs: (h) => {
    const os = requireOs(h, 'apt.standardSourcesList', { distribution: 'debian' });
    if (!os.suite) h.inapplicable('apt.standardSourcesList needs the host to declare its Debian suite');
  },
  check: async (ctx) => {
    const old = await regularContent(ctx, SOURCES);
    const want = Buffer.from(sourcesFor(ctx));
    return old?.equals(want) ? true : { applied: false, changes: [change(SOURCES, old, want)] };
  },
  apply: async (ctx) => {
    await ctx.writeFile(SOURCES, sourcesFor(ctx), { mode: '0644' });
    if ((await ctx.stat('/etc/apt/sources.list')).exists) await ctx.writeFile('/etc/apt/sources.list', '');
    ctx.forget(INSTALLED);
  },
});

export const SOURCES = '/etc/apt/sources.list.d/debian.sources';

function sourcesFor(ctx: PropertyContext): string {
  const os = ctx.attrs.first(attrs.os)!;
  const suite = os.suite!;
  const mirror = ctx.attrs.get(mirrorsAttr)[0] ?? 'http://deb.debian.org/debian';
  const rolling = suite === 'sid' || suite === 'unstable' || suite === 'testing';
  const stanza = (uris: string, suites: string) =>
    `Types: deb\nURIs: ${uris}\nSuites: ${suites}\nComponents: main\n` +
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n';
  return rolling
    ? stanza(mirror, suite)
    : [
        stanza(mirror, `${suite} ${suite}-updates`),
        stanza('http://deb.debian.org/debian-security', `${suite}-security`),
      ].join('\n');
}

/** An extra sources file (deb822 `.sources` text, or one-line `.list` entries), then update. */
export function additionalSources(name: string, content: string): Propapp {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    return invalidApplication('apt.additionalSources', 'name', 'must be letters, digits, _, . and -');
  }
  const file = content.includes('URIs:') ? `${name}.sources` : `${name}.list`;
  return desc(`apt sources ${name}`, onChange(hasContent(`/etc/apt/sources.list.d/${file}`, content), updated()));
}
