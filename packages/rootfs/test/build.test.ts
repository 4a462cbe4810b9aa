import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defprop, deployThese, type PropertyContext } from '@consfig/core';
import {
  cachedRootfs,
  defaultMapsFor,
  ensureRootfs,
  parseBootstrapOptions,
  registerBootstrapper,
  removeRootfs,
  type BootstrapOptionsInput,
} from '../src/index.js';
import { ensureUsers, TEST_USER } from '../../connections/test/support/machine.js';

const WORK = '/var/lib/consfig-test/rootfs-build';
const CACHE = `${WORK}/cache`;
mkdirSync(WORK, { recursive: true });
afterAll(() => {
  execFileSync('sh', ['-c', `umount ${WORK}/small 2>/dev/null; true`]);
});

/** Run `body` as the apply of a property on the local connection; return it or the failure. */
async function withCtx<T>(body: (ctx: PropertyContext) => Promise<T>): Promise<T> {
  let out: T | undefined;
  const p = defprop({
    name: 'test.build',
    desc: 'build',
    apply: async (ctx) => {
      out = await body(ctx);
    },
  });
  const r = await deployThese('local', p());
  if (r.failures.length > 0) throw r.failures[0]!.error;
  return out as T;
}

function opts(input: BootstrapOptionsInput) {
  return parseBootstrapOptions(input, 'test.build');
}

/** A tiny "distribution" tarball for the fast cases. */
function tinyTarball(): string {
  const src = `${WORK}/tiny-src`;
  rmSync(src, { recursive: true, force: true });
  mkdirSync(`${src}/usr/lib`, { recursive: true });
  writeFileSync(`${src}/usr/lib/os-release`, 'ID=tiny\n');
  const out = `${WORK}/tiny.tar.gz`;
  execFileSync('tar', ['-C', src, '-czf', out, '.']);
  return out;
}

describe('the rootfs cache', () => {
  it('builds with mmdebstrap once, then unpacks from the cache', async () => {
    const o = opts({ suite: 'bookworm', bootstrapper: 'mmdebstrap' });
    const first = await withCtx((ctx) => cachedRootfs(ctx, o));
    expect(first.path).toMatch(/^\/var\/cache\/consfig\/rootfs\/mmdebstrap-bookworm-minbase-amd64-/);
    const again = await withCtx((ctx) => cachedRootfs(ctx, o));
    expect([again.path, again.built]).toEqual([first.path, false]);
    const root = `${WORK}/mm-root`;
    await withCtx((ctx) => removeRootfs(ctx, root));
    expect(await withCtx((ctx) => ensureRootfs(ctx, o, root))).toBe(true);
    expect(execFileSync('chroot', [root, 'cat', '/etc/debian_version'], { encoding: 'utf8' })).toMatch(/^12\./);
    expect(await withCtx((ctx) => ensureRootfs(ctx, o, root))).toBe(false);
    expect(existsSync(`${root}.consfig-partial`)).toBe(false);
  }, 600_000);

  it('builds with debootstrap into a directory, then packs it', async () => {
    const o = opts({ suite: 'bookworm', bootstrapper: 'debootstrap' });
    const built = await withCtx((ctx) => cachedRootfs(ctx, o));
    expect(built.path).toMatch(/debootstrap-bookworm-minbase-amd64-/);
    const list = execFileSync('tar', ['--zstd', '-tf', built.path], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(list).toContain('./usr/bin/dpkg');
    expect(readdirSync('/var/cache/consfig/rootfs').filter((n) => n.includes('.building'))).toEqual([]);
  }, 900_000);

  it('rebuilds a tarball older than maxAgeDays, and lets only one of two builders build', async () => {
    const o = opts({ suite: 'bookworm', bootstrapper: 'tarball', tarball: tinyTarball() });
    rmSync(CACHE, { recursive: true, force: true });
    const [a, b] = await Promise.all([
      withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE })),
      withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE })),
    ]);
    expect([a.built, b.built].sort()).toEqual([false, true]);
    const old = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    utimesSync(a.path, old, old);
    expect((await withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE, maxAgeDays: 7 }))).built).toBe(true);
    expect(statSync(a.path).mtimeMs).toBeGreaterThan(old.getTime());
    expect((await withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE, maxAgeDays: 7 }))).built).toBe(false);
  });

  it('leaves no tree looking complete when building fails or the disk is full', async () => {
    const broken = `${WORK}/broken.tar.gz`;
    writeFileSync(broken, 'not a tarball');
    const bad = opts({ suite: 'bookworm', bootstrapper: 'tarball', tarball: broken });
    await expect(withCtx((ctx) => cachedRootfs(ctx, bad, { cacheDir: CACHE }))).rejects.toThrow(
      /building a bookworm tree with tarball from \S+\/broken\.tar\.gz failed: tar: /,
    );
    expect(readdirSync(CACHE).filter((n) => n.includes('.building'))).toEqual([]);

    // a full disk: a 2 MiB tmpfs cannot hold a Debian tree
    const small = `${WORK}/small`;
    mkdirSync(small, { recursive: true });
    execFileSync('sh', ['-c', `mountpoint -q ${small} || mount -t tmpfs -o size=2m tmpfs ${small}`]);
    const o = opts({ suite: 'bookworm', bootstrapper: 'mmdebstrap' });
    const error = await withCtx((ctx) => ensureRootfs(ctx, o, `${small}/root`)).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^unpacking \S+ into \S+\/root failed: [\s\S]*No space left on device/);
    expect(existsSync(`${small}/root`)).toBe(false);
    expect(existsSync(`${small}/root.consfig-partial`)).toBe(false);
  }, 600_000);
});

describe('what a build gives', () => {
  /** A "Debian" bootstrapper that packs a directory made by the test. */
  function fakeDebian(tree: Record<string, string>): string {
    const src = `${WORK}/fake-src`;
    rmSync(src, { recursive: true, force: true });
    for (const [path, text] of Object.entries(tree)) {
      mkdirSync(`${src}/${path.replace(/\/[^/]*$/, '')}`, { recursive: true });
      writeFileSync(`${src}/${path}`, text);
    }
    registerBootstrapper({
      name: 'fake-debian',
      program: 'tar',
      distributions: ['debian'],
      writesTarball: true,
      argv: (_o, target) => ['tar', '--zstd', '-C', src, '-cf', target, '.'],
    });
    return src;
  }

  it('is never cached when it lacks what a Debian tree has, or is of another suite', async () => {
    rmSync(CACHE, { recursive: true, force: true });
    fakeDebian({ 'usr/lib/os-release': 'VERSION_CODENAME=bullseye\n' });
    const o = opts({ suite: 'bullseye', bootstrapper: 'fake-debian' });
    await expect(withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE }))).rejects.toThrow(
      /building a bullseye tree with fake-debian failed: the bootstrap gave a tree without \/bin\/sh \(not cached\)/,
    );
    fakeDebian({
      'usr/bin/sh': '',
      'var/lib/dpkg/status': '',
      'usr/lib/os-release': 'ID=debian\nVERSION_CODENAME=bookworm\n',
    });
    await expect(withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE }))).rejects.toThrow(
      /the bootstrap gave a tree of another suite than bullseye \(VERSION_CODENAME=bookworm; not cached\)/,
    );
    expect(readdirSync(CACHE).filter((n) => n.endsWith('.tar.zst'))).toEqual([]);
    fakeDebian({
      'usr/bin/sh': '',
      'var/lib/dpkg/status': '',
      'usr/lib/os-release': 'ID=debian\nVERSION_CODENAME=bullseye\n',
    });
    expect((await withCtx((ctx) => cachedRootfs(ctx, o, { cacheDir: CACHE }))).built).toBe(true);
  });

  it('is of the suite asked for, built on this bookworm machine from its mirror', async () => {
    const o = opts({ suite: 'bullseye', bootstrapper: 'mmdebstrap' });
    const root = `${WORK}/bullseye-root`;
    await withCtx((ctx) => removeRootfs(ctx, root));
    expect(await withCtx((ctx) => ensureRootfs(ctx, o, root))).toBe(true);
    expect(
      execFileSync('chroot', [root, 'sh', '-c', '. /etc/os-release; echo $VERSION_CODENAME'], { encoding: 'utf8' }),
    ).toBe('bullseye\n');
    expect(execFileSync('chroot', [root, 'cat', '/etc/debian_version'], { encoding: 'utf8' })).toMatch(/^11\./);
    await withCtx((ctx) => removeRootfs(ctx, root));
  }, 600_000);
});

describe('unpacking inside a user namespace', () => {
  it('gives the same owners and modes as shifting, without a walk', async () => {
    const o = opts({ suite: 'bookworm', bootstrapper: 'mmdebstrap' });
    ensureUsers();
    const maps = defaultMapsFor(TEST_USER);
    const root = `${WORK}/userns-root`;
    await withCtx((ctx) => removeRootfs(ctx, root));
    expect(await withCtx((ctx) => ensureRootfs(ctx, o, root, { userns: { owner: TEST_USER, maps } }))).toBe(true);
    const st = (p: string) => execFileSync('stat', ['-c', '%u:%g %a', `${root}${p}`], { encoding: 'utf8' }).trim();
    const u = maps.uid[0]!.outside;
    const g = maps.gid[0]!.outside;
    expect(st('')).toBe(`${u}:${g} 755`);
    expect(st('/usr/bin/passwd')).toBe(`${u}:${g} 4755`);
    expect(st('/etc/shadow')).toBe(`${u}:${g + 42} 640`);
    expect(st('/var/mail')).toBe(`${u}:${g + 8} 2775`);
    await withCtx((ctx) => removeRootfs(ctx, root));
  }, 600_000);
});
