import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childHost, defineHost, deploy, unapply } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, os } from '../src/index.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('apt-extras');

describe('apt, second wave', () => {
  it('adds backports for the host suite, and pins a package, as apt-cache policy then shows', async () => {
    await t.twice(apt.backports());
    expect(readFileSync(`${t.root}/etc/apt/sources.list.d/backports.sources`, 'utf8')).toMatch(
      /^Suites: bookworm-backports$/m,
    );
    const pin = apt.pinned('hello-pin', { packages: 'hello', pin: 'release n=bookworm', priority: 990 });
    expect((await t.pending(pin))[0]![0]!.after).toBe('Package: hello\nPin: release n=bookworm\nPin-Priority: 990\n');
    await t.twice(pin);
    expect(t.inside('apt-cache', 'policy')).toMatch(/ bookworm-backports\/main amd64 Packages/);
    expect(t.inside('apt-cache', 'policy', 'hello')).toMatch(/^ +\S+ 990$/m);
    await t.twice(unapply(pin));
    const sid = await deploy(defineHost('lib.example', [os.debianUnstable('amd64'), apt.backports()]), 'local');
    expect(sid.failures[0]?.error.message).toMatch(/apt\.backports is for stable suites, not sid/);
  }, 300_000);

  it('trusts a keyring that a Signed-By source then verifies with; unattended upgrades; autoremove', async () => {
    const keyring = readFileSync('/usr/share/keyrings/debian-archive-keyring.gpg');
    await t.twice(apt.trustsKey('consfig-test', keyring));
    await t.twice(
      apt.additionalSources(
        'consfig-signed',
        'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-proposed-updates\nComponents: contrib\n' +
          'Signed-By: /etc/apt/keyrings/consfig-test.gpg\n',
      ),
    );
    expect(t.inside('sh', '-c', 'apt-get update 2>&1 | grep -c NO_PUBKEY || true')).toBe('0\n');
    await t.twice(apt.unattendedUpgrades());
    expect(t.inside('apt-config', 'dump', 'APT::Periodic::Unattended-Upgrade')).toMatch(/"1"/);
    await t.twice(apt.removed('unattended-upgrades'));
    await t.twice(apt.autoremoved());
    expect(t.inside('sh', '-c', 'apt-get -s autoremove | grep -c "^Remv" || true')).toBe('0\n');
    const bad = await deploy(defineHost('lib.example', [debian, apt.trustsKey('k', 'not a key')]), 'local');
    expect(bad.failures[0]?.error.message).toMatch(
      /^invalid argument 'key' to apt\.trustsKey: must be an ASCII-armored/,
    );
  }, 300_000);

  it("gives a nested host its parent's proxy and mirrors, and refuses one whose parent has none", async () => {
    const parent = defineHost('parent.example', [
      debian,
      apt.proxy('http://192.0.2.1:3142'),
      apt.mirrors('http://192.0.2.1/debian'),
    ]);
    const child = childHost(parent, 'lib.example', [debian, apt.usesParentProxy(), apt.usesParentMirrors()]);
    expect(child.attrs.get(apt.mirrorsAttr)).toEqual(['http://192.0.2.1/debian']);
    const first = await deploy(child, [chroot(t.root)]);
    expect([first.failures.length, first.changed]).toEqual([0, 1]);
    expect(readFileSync(`${t.root}/etc/apt/apt.conf.d/00consfig-proxy`, 'utf8')).toBe(
      'Acquire::http::Proxy "http://192.0.2.1:3142";\n',
    );
    expect((await deploy(child, [chroot(t.root)])).changed).toBe(0);
    const orphan = await deploy(
      childHost(defineHost('bare.example', []), 'lib.example', [debian, apt.usesParentProxy()]),
      'local',
    );
    expect(orphan.failures[0]?.error.message).toMatch(/lib\.example's parent host has no apt\.proxy/);
  });
});
