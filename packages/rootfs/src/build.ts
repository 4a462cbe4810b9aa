/**
 * Building a root filesystem on the target of a connection: bootstrap once into a
 * cached compressed tarball (under a lock, renamed into place when complete, rebuilt
 * after maxAgeDays), then unpack it into a partial directory beside the root and rename
 * that into place. A tree that is not complete therefore never sits at `root`.
 */
import { posix } from 'node:path';
import { InvalidArgumentError, PropertyFailedError, sha256Hex, type PropertyContext } from '@consfig/core/property';
import { bootstrappers, type Bootstrapper } from './bootstrappers/index.js';
import {
  DEBIAN_CODENAMES,
  DEBIAN_SUITES,
  HOST_SOURCES,
  bootstrapOptions,
  type BootstrapOptions,
  type BootstrapOptionsInput,
} from './bootstrappers/options.js';
import { HOST_MIRROR_PLACEHOLDER } from './bootstrappers/debootstrap.js';
import type { IdMaps } from './idshift/maps.js';

export interface CacheOptions {
  /** Where tarballs are kept on the building machine. */
  cacheDir?: string;
  /** Rebuild a cached tarball older than this (the archive moves on). Default 7. */
  maxAgeDays?: number;
}

export const DEFAULT_CACHE_DIR = '/var/cache/consfig/rootfs';
export const PARTIAL_SUFFIX = '.consfig-partial';

/** What identifies a cached rootfs. */
export function cacheKey(b: Bootstrapper, o: BootstrapOptions): string {
  const identity = {
    // 2: trees checked before they are cached (older caches may hold a broken one)
    format: 2,
    bootstrapper: b.name,
    suite: o.suite,
    arch: o.arch,
    variant: o.variant,
    includes: [...o.includes].sort(),
    components: o.components,
    mirror: o.mirror ?? null,
    keyring: o.keyring ?? null,
    tarball: o.tarball ?? null,
  };
  const hash = sha256Hex(JSON.stringify(identity)).slice(0, 12);
  return `${b.name}-${o.suite}-${o.variant}-${o.arch}-${hash}`;
}

/** Parse and check options for a property (host and property named in errors by the engine). */
export function parseBootstrapOptions(input: BootstrapOptionsInput, property: string): BootstrapOptions {
  const parsed = bootstrapOptions.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(property, ['options', ...issue.path].join('.'), issue.message);
  }
  const o = parsed.data;
  const b = o.bootstrapper === undefined ? undefined : bootstrappers[o.bootstrapper];
  if (o.bootstrapper !== undefined && !b) {
    throw new InvalidArgumentError(
      property,
      'options.bootstrapper',
      `unknown bootstrapper ${JSON.stringify(o.bootstrapper)} (known: ${Object.keys(bootstrappers).join(', ')})`,
    );
  }
  const debianLike = !b || b.distributions.includes('debian');
  if (debianLike && !(DEBIAN_SUITES as readonly string[]).includes(o.suite)) {
    throw new InvalidArgumentError(
      property,
      'options.suite',
      `unknown Debian suite ${JSON.stringify(o.suite)} (known: ${DEBIAN_SUITES.join(', ')})`,
    );
  }
  if (o.bootstrapper === 'tarball' && !o.tarball) {
    throw new InvalidArgumentError(
      property,
      'options.tarball',
      'the tarball bootstrapper needs the path of a root tarball',
    );
  }
  return o;
}

/** The last lines of a tool's stderr: where it says what went wrong. */
function tail(stderr: string, lines = 15): string {
  const all = stderr.trim().split('\n');
  return (all.length > lines ? ['…', ...all.slice(-lines)] : all).join('\n') || 'no message';
}

async function has(ctx: PropertyContext, program: string): Promise<boolean> {
  return ctx.test(['sh', '-c', 'command -v "$1" >/dev/null', 'sh', program]);
}

/** The bootstrapper to use: the one asked for, else mmdebstrap where installed, else debootstrap. */
export async function chooseBootstrapper(ctx: PropertyContext, o: BootstrapOptions): Promise<Bootstrapper> {
  const b = o.bootstrapper
    ? bootstrappers[o.bootstrapper]!
    : (await has(ctx, 'mmdebstrap'))
      ? bootstrappers.mmdebstrap!
      : bootstrappers.debootstrap!;
  if (!(await has(ctx, b.program))) {
    ctx.fail(`${b.program} is not installed on ${ctx.hostname} (apt.installed('${b.program}') before this property)`);
  }
  // The cache is zstd-compressed: tar needs the zstd program.
  if (!(await has(ctx, 'zstd')))
    ctx.fail(`zstd is not installed on ${ctx.hostname} (apt.installed('zstd') before this property)`);
  return b;
}

async function hostMirror(ctx: PropertyContext): Promise<string> {
  const deb822 = (await ctx.readFileIfExists(HOST_SOURCES))?.toString('utf8') ?? '';
  const fromDeb822 = /^URIs:\s*(\S+)/m.exec(deb822)?.[1];
  if (fromDeb822) return fromDeb822;
  const list = (await ctx.readFileIfExists('/etc/apt/sources.list'))?.toString('utf8') ?? '';
  return /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(list)?.[1] ?? 'http://deb.debian.org/debian';
}

// Builds into a temp name under a lock, checks a Debian tree has what one has (a shell,
// dpkg's status, os-release naming the suite asked for), and only then renames it into
// the cache: a bootstrap that "succeeded" with a broken tree is a failed build.
const CACHE_SCRIPT = String.raw`set -u
cache=$1; maxmin=$2; mode=$3; verify=$4; codename=$5; shift 5
fail() { echo "$1" >&2; rm -rf "$cache.building.tar.zst" "$cache.building.d"; exit 1; }
mkdir -p "${'$'}{cache%/*}" || exit 1
exec 9>"$cache.lock"
flock 9 || exit 1
if [ -e "$cache" ] && [ -z "$(find "$cache" -mmin "+$maxmin" 2>/dev/null)" ]; then echo cache-hit; exit 0; fi
rm -rf "$cache.building.tar.zst" "$cache.building.d"
[ "$mode" = dir ] && mkdir -p "$cache.building.d"
"$@" || { rc=$?; rm -rf "$cache.building.tar.zst" "$cache.building.d"; exit "$rc"; }
if [ "$mode" = dir ]; then
  tar -C "$cache.building.d" --numeric-owner --acls --xattrs --xattrs-include='*' --zstd \
    -cpf "$cache.building.tar.zst" . || fail "cannot pack the tree"
  rm -rf "$cache.building.d"
fi
if [ "$verify" = debian ]; then
  list=$(tar --zstd -tf "$cache.building.tar.zst") || fail "the bootstrapper wrote no readable tarball"
  has() { case "
$list
" in *"
./$1
"*) return 0 ;; esac; return 1; }
  has usr/bin/sh || has bin/sh || fail "the bootstrap gave a tree without /bin/sh (not cached)"
  has var/lib/dpkg/status || fail "the bootstrap gave a tree without dpkg's status (not cached)"
  has usr/lib/os-release || has etc/os-release || fail "the bootstrap gave a tree without os-release (not cached)"
  if [ -n "$codename" ]; then
    release=$(tar --zstd -xOf "$cache.building.tar.zst" ./usr/lib/os-release 2>/dev/null ||
      tar --zstd -xOf "$cache.building.tar.zst" ./etc/os-release)
    case "$release" in *"VERSION_CODENAME=$codename"*) ;;
      *) got=$(printf '%s\n' "$release" | grep '^VERSION_CODENAME=' || echo 'no VERSION_CODENAME')
         fail "the bootstrap gave a tree of another suite than $codename ($got; not cached)" ;; esac
  fi
fi
mv -f "$cache.building.tar.zst" "$cache" && echo built`;

/**
 * The cached tarball for these options, built (or rebuilt when too old) if needed.
 * Returns its path on the building machine and whether it was built now.
 */
export async function cachedRootfs(
  ctx: PropertyContext,
  o: BootstrapOptions,
  cache: CacheOptions = {},
): Promise<{ path: string; built: boolean; bootstrapper: Bootstrapper }> {
  const b = await chooseBootstrapper(ctx, o);
  const path = posix.join(cache.cacheDir ?? DEFAULT_CACHE_DIR, `${cacheKey(b, o)}.tar.zst`);
  const mode = b.writesTarball ? 'tar' : 'dir';
  let argv = b.argv(o, b.writesTarball ? `${path}.building.tar.zst` : `${path}.building.d`);
  let from = o.mirror ?? o.tarball;
  if (argv.includes(HOST_MIRROR_PLACEHOLDER)) {
    const mirror = await hostMirror(ctx);
    argv = argv.map((a) => (a === HOST_MIRROR_PLACEHOLDER ? mirror : a));
    from = mirror;
  }
  const env = b.env?.(o) ?? {};
  const minutes = String(Math.round((cache.maxAgeDays ?? 7) * 24 * 60));
  const verify = b.distributions.includes('debian') ? 'debian' : '';
  const codename = (DEBIAN_CODENAMES as readonly string[]).includes(o.suite) ? o.suite : '';
  const result = await ctx.run(
    ['sh', '-c', CACHE_SCRIPT, 'consfig-rootfs-cache', path, minutes, mode, verify, codename, ...argv],
    {
      env,
      affects: [path],
      allowFailure: true,
    },
  );
  if (result.exitCode !== 0)
    ctx.fail(`building a ${o.suite} tree with ${b.name}${from ? ` from ${from}` : ''} failed: ${tail(result.stderr)}`);
  return { path, built: result.stdout.includes('built'), bootstrapper: b };
}

// With a map (owner:uid:count:gid:count, from 0), tar runs as root of a new user
// namespace entered by the owner of the id range (newuidmap allows exactly that):
// owners, ACLs and file capabilities come out shifted by the kernel, with no walk.
const UNPACK_SCRIPT = String.raw`set -u
tarball=$1; root=$2; map=$3; partial=$2${PARTIAL_SUFFIX}
rm -rf --one-file-system "$partial"
mkdir -p "${'$'}{partial%/*}" && mkdir "$partial" || exit 1
set -- tar -C "$partial" --numeric-owner --acls --xattrs --xattrs-include='*' -xpf "$tarball"
if [ -n "$map" ]; then
  IFS=: read -r owner uid ucount gid gcount <<EOF_MAP
$map
EOF_MAP
  chown "$uid:$gid" "$partial" || exit 1
  set -- runuser -u "$owner" -- unshare --user --map-users="$uid,0,$ucount" --map-groups="$gid,0,$gcount" \
    --setuid 0 --setgid 0 -- "$@" --exclude='./dev/*'
fi
"$@" && mv -T "$partial" "$root" && exit 0
rc=$?; rm -rf --one-file-system "$partial"; exit "$rc"`;

export interface UnpackOptions extends CacheOptions {
  /**
   * Unpack inside a user namespace entered by `owner` with `maps` (one range each,
   * from 0; the owner's subordinate ids), so the tree is owned as the namespace sees it
   * without shifting afterwards.
   */
  userns?: { owner: string; maps: IdMaps };
}

function mapArgument(userns: UnpackOptions['userns']): string {
  if (!userns) return '';
  const { owner, maps } = userns;
  const [u] = maps.uid;
  const [g] = maps.gid;
  if (maps.uid.length !== 1 || maps.gid.length !== 1 || u!.inside !== 0 || g!.inside !== 0) {
    throw new InvalidArgumentError(
      'rootfs unpacking',
      'maps',
      'in a user namespace it takes one range for uids and one for gids, both from 0',
    );
  }
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(owner))
    throw new InvalidArgumentError('rootfs unpacking', 'owner', `${JSON.stringify(owner)} is not a user name`);
  return `${owner}:${u!.outside}:${u!.count}:${g!.outside}:${g!.count}`;
}

/** Refuse a root below another root that is still being built (its partial tree exists). */
export async function assertNotInsidePartial(ctx: PropertyContext, root: string): Promise<void> {
  const ancestors: string[] = [];
  for (let p = posix.dirname(root); p !== '/'; p = posix.dirname(p)) ancestors.push(`${p}${PARTIAL_SUFFIX}`);
  if (ancestors.length === 0) return;
  const found = await ctx.probe(ancestors.map((path) => ({ path })));
  const building = ancestors.find((a) => found.get(a)?.exists);
  if (building) {
    throw new PropertyFailedError(
      `${root} is inside ${building.slice(0, -PARTIAL_SUFFIX.length)}, a root filesystem that is still being built`,
    );
  }
}

/**
 * Make `root` a complete root filesystem for these options, from the cache. Returns
 * false when it already was one (it has usr/lib/os-release).
 */
export async function ensureRootfs(
  ctx: PropertyContext,
  o: BootstrapOptions,
  root: string,
  cache: UnpackOptions = {},
): Promise<boolean> {
  const map = mapArgument(cache.userns);
  if ((await ctx.stat(posix.join(root, 'usr/lib/os-release'))).exists) return false;
  await assertNotInsidePartial(ctx, root);
  const info = await ctx.stat(root);
  if (info.exists) {
    const empty = await ctx.test(['sh', '-c', '[ -d "$1" ] && [ -z "$(ls -A "$1")" ]', 'sh', root]);
    if (!empty) ctx.fail(`${root} exists and is not an empty directory`);
    await ctx.run(['rmdir', root], { affects: [root] });
  }
  const { path } = await cachedRootfs(ctx, o, cache);
  const unpacked = await ctx.run(['sh', '-c', UNPACK_SCRIPT, 'consfig-rootfs-unpack', path, root, map], {
    affects: [root, `${root}${PARTIAL_SUFFIX}`],
    allowFailure: true,
  });
  if (unpacked.exitCode !== 0) ctx.fail(`unpacking ${path} into ${root} failed: ${tail(unpacked.stderr)}`);
  return true;
}

/** Remove a root filesystem: unmount anything below it first, never cross into other filesystems. */
export async function removeRootfs(ctx: PropertyContext, root: string): Promise<boolean> {
  if (!(await ctx.stat(root)).exists) return false;
  await ctx.run(
    [
      'sh',
      '-c',
      `for m in $(awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r); do
         umount -l "$m" || exit 1
       done
       rm -rf --one-file-system "$1"`,
      'consfig-rootfs-remove',
      root,
    ],
    { affects: [root] },
  );
  return true;
}

export type { BootstrapOptions, BootstrapOptionsInput };
