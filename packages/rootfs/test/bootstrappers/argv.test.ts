import { describe, expect, it } from 'vitest';
import { bootstrapOptions, debootstrap, dnf, mmdebstrap, pacstrap, tarball, cacheKey } from '../../src/index.js';

const o = bootstrapOptions.parse({
  suite: 'bookworm',
  includes: ['vim', 'curl'],
  components: ['main', 'contrib'],
  proxy: 'http://proxy:3142',
});

describe('bootstrapper argv', () => {
  it("mmdebstrap uses the building machine's archive without a mirror and sets the proxy as an apt option", () => {
    expect(mmdebstrap.argv(o, '/out.tar.zst')).toEqual([
      'mmdebstrap',
      '--quiet',
      '--variant=minbase',
      '--architectures=amd64',
      '--components=main,contrib',
      '--include=vim,curl',
      '--aptopt=Acquire::http::Proxy "http://proxy:3142"',
      'bookworm',
      '/out.tar.zst',
      '@host-mirror@',
    ]);
    expect(mmdebstrap.argv({ ...o, mirror: 'http://m/debian', proxy: undefined }, '/d').at(-1)).toBe('http://m/debian');
  });

  it('debootstrap takes the proxy from the environment', () => {
    expect(debootstrap.argv({ ...o, keyring: '/k.gpg' }, '/d')).toEqual([
      'debootstrap',
      '--variant=minbase',
      '--arch=amd64',
      '--components=main,contrib',
      '--include=vim,curl',
      '--keyring=/k.gpg',
      'bookworm',
      '/d',
      '@host-mirror@',
    ]);
    expect(debootstrap.env?.(o)).toEqual({ http_proxy: 'http://proxy:3142' });
  });

  it('pacstrap and dnf for other distributions', () => {
    expect(pacstrap.argv(o, '/mnt')).toEqual(['pacstrap', '-c', '-G', '-M', '/mnt', 'base', 'vim', 'curl']);
    expect(dnf.argv({ ...o, suite: '41', proxy: undefined }, '/mnt')).toEqual([
      'dnf',
      '-y',
      '--installroot=/mnt',
      '--releasever=41',
      '--forcearch=x86_64',
      '--setopt=install_weak_deps=False',
      'install',
      '@core',
      'vim',
      'curl',
    ]);
  });

  it('tarball unpacks a given tarball and needs one', () => {
    expect(tarball.argv({ ...o, tarball: '/r.tar.xz' }, '/d')).toEqual([
      'tar',
      '-C',
      '/d',
      '--numeric-owner',
      '-xpf',
      '/r.tar.xz',
    ]);
    expect(() => tarball.argv(o, '/d')).toThrow(
      /invalid argument 'options\.tarball' to the tarball bootstrapper: is required/,
    );
  });

  it('cache keys depend on what the tree contains, not on include order', () => {
    const a = cacheKey(mmdebstrap, o);
    expect(cacheKey(mmdebstrap, { ...o, includes: ['curl', 'vim'] })).toBe(a);
    expect(cacheKey(debootstrap, o)).not.toBe(a);
    expect(cacheKey(mmdebstrap, { ...o, arch: 'arm64' })).not.toBe(a);
    expect(a).toMatch(/^mmdebstrap-bookworm-minbase-amd64-[0-9a-f]{12}$/);
  });
});
