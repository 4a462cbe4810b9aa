import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHost, deploy, InapplicablePropertyError, InvalidArgumentError, type Propapp } from '@consfig/core';
import { chroot } from '@consfig/connections';
import { apt, file, os } from '../src/index.js';
import { installedInStatus } from '../src/apt.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('apt');
const { twice, inside } = t;

describe('apt', () => {
  it('installs and removes packages, reading the installed set once per deployment', async () => {
    const status = '/var/lib/dpkg/status';
    expect(await t.pending(apt.installed('hello', 'cowsay', 'coreutils'))).toEqual([
      [{ path: status, before: 'hello, cowsay not installed', after: 'hello, cowsay installed', kind: 'metadata' }],
    ]);
    await twice(apt.installed('hello', 'cowsay'));
    expect(await t.pending(apt.removed('cowsay', 'sl'))).toEqual([
      [{ path: status, before: 'cowsay installed', after: 'cowsay removed', kind: 'metadata' }],
    ]);
    expect(inside('dpkg-query', '-W', '-f', '${Status}', 'hello')).toBe('install ok installed');
    const events: string[] = [];
    await deploy(
      defineHost('lib.example', [debian, apt.installed('hello'), apt.installed('cowsay'), apt.installed('hello')]),
      [chroot(t.root)],
      {
        onEvent: (e) => void (e.type === 'command' && events.push(e.argv.join(' '))),
      },
    );
    // Read from dpkg's status file, fetched with the first probe: no dpkg-query at all.
    expect(events.filter((c) => c.startsWith('dpkg-query'))).toHaveLength(0);
    await twice(apt.removed('cowsay'));
    expect(inside('sh', '-c', 'dpkg -s cowsay >/dev/null 2>&1 && echo installed || echo absent')).toBe('absent\n');
  }, 300_000);

  it('installs minimally, without what the packages only recommend', async () => {
    await twice(apt.installedMinimally('curl'));
    expect(inside('dpkg-query', '-W', '-f', '${Status}', 'curl')).toBe('install ok installed');
    // curl recommends ca-certificates: left out.
    expect(inside('sh', '-c', 'dpkg -s ca-certificates >/dev/null 2>&1 && echo installed || echo absent')).toBe(
      'absent\n',
    );
    await twice(apt.removed('curl'));
  }, 300_000);

  it("reads the installed set as dpkg-query gives it, and asks dpkg-query where dpkg's files may differ", async () => {
    const ensured = await deploy(defineHost('lib.example', [debian, apt.installed('hello')]), [chroot(t.root)]);
    expect(ensured.failures).toEqual([]);
    // The status file of this machine and of the tree read as dpkg-query lists them.
    for (const root of ['/', t.root]) {
      const query = execFileSync('chroot', [root, 'dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\\n'], {
        encoding: 'utf8',
      });
      const ii = query
        .split('\n')
        .filter((l) => /^\S+ ii/.test(l))
        .map((l) => l.split(' ')[0]);
      const read = installedInStatus(readFileSync(`${root}/var/lib/dpkg/status`, 'utf8'));
      expect([...read!].sort()).toEqual([...new Set(ii)].sort());
      expect(read!.size).toBeGreaterThan(50);
    }
    // A package in the middle of a change: dpkg-query's to tell.
    expect(
      installedInStatus('Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: install ok unpacked\n'),
    ).toBe(undefined);
    const check = async () => {
      const commands: string[] = [];
      const r = await deploy(defineHost('lib.example', [debian, apt.installed('hello')]), [chroot(t.root)], {
        dryRun: true,
        onEvent: (e) => void (e.type === 'command' && commands.push(e.argv[0]!)),
      });
      return { changed: r.changed, dpkgQuery: commands.includes('dpkg-query') };
    };
    expect(await check()).toEqual({ changed: 0, dpkgQuery: false });
    // A change in dpkg's journal and not yet in the status file (hello held): dpkg-query
    // applies it, and so hello is not "ii" any more.
    const stanza = inside('dpkg-query', '-s', 'hello').replace(/^Status: .*$/m, 'Status: hold ok installed');
    const journal = `${t.root}/var/lib/dpkg/updates/0000`;
    writeFileSync(journal, stanza);
    try {
      expect(await check()).toEqual({ changed: 1, dpkgQuery: true });
    } finally {
      rmSync(journal);
    }
    // Triggers activated and not yet in it: dpkg-query's too.
    const triggers = `${t.root}/var/lib/dpkg/triggers/Unincorp`;
    const before = readFileSync(triggers);
    writeFileSync(triggers, 'ldconfig libc-bin\n');
    try {
      expect((await check()).dpkgQuery).toBe(true);
    } finally {
      writeFileSync(triggers, before);
    }
    expect(await check()).toEqual({ changed: 0, dpkgQuery: false });
  }, 300_000);

  it('writes the proxy, the standard sources and cleans the cache', async () => {
    await twice(apt.proxy('http://127.0.0.1:3142'));
    expect(readFileSync(`${t.root}/etc/apt/apt.conf.d/00consfig-proxy`, 'utf8')).toBe(
      'Acquire::http::Proxy "http://127.0.0.1:3142";\n',
    );
    await deploy(defineHost('lib.example', [debian, file.removed('/etc/apt/apt.conf.d/00consfig-proxy')]), [
      chroot(t.root),
    ]);
    const host = defineHost('lib.example', [
      debian,
      apt.mirrors('http://deb.debian.org/debian'),
      apt.standardSourcesList(),
    ]);
    await deploy(host, [chroot(t.root)]);
    expect(readFileSync(`${t.root}/etc/apt/sources.list.d/debian.sources`, 'utf8')).toMatch(
      /Suites: bookworm bookworm-updates\n[\s\S]*bookworm-security/,
    );
    expect((await deploy(host, [chroot(t.root)])).changed).toBe(0);
    await deploy(defineHost('lib.example', [debian, apt.cacheCleaned()]), [chroot(t.root)]);
    expect(inside('sh', '-c', 'ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l').trim()).toBe('0');
  }, 300_000);

  it('adds sources (updating the lists on change) and upgrades', async () => {
    const extra = apt.additionalSources('consfig-test', 'deb http://deb.debian.org/debian bookworm-backports main\n');
    const first = await twice(extra);
    expect(first.changed).toBe(2); // the sources file, and the update it triggered
    expect(readFileSync(`${t.root}/etc/apt/sources.list.d/consfig-test.list`, 'utf8')).toMatch(/bookworm-backports/);
    expect(inside('sh', '-c', 'ls /var/lib/apt/lists | grep -c backports')).not.toBe('0\n');
    await deploy(defineHost('lib.example', [debian, apt.upgraded()]), [chroot(t.root)]);
    const again = await deploy(defineHost('lib.example', [debian, apt.upgraded()]), [chroot(t.root)]);
    expect([again.status, again.changed]).toEqual(['ok', 0]);
    await deploy(
      defineHost('lib.example', [debian, file.removed('/etc/apt/sources.list.d/consfig-test.list'), apt.updated()]),
      [chroot(t.root)],
    );
  }, 300_000);

  it('refuses an unknown package, a malformed proxy and non-Debian hosts clearly', async () => {
    const unknown = await deploy(defineHost('lib.example', [debian, apt.installed('no-such-package-anywhere')]), [
      chroot(t.root),
    ]);
    expect(unknown.failures[0]!.error).toMatchObject({ code: 'CONSFIG_COMMAND_FAILED', exitCode: 100 });
    expect((unknown.failures[0]!.error as { stderr: string }).stderr).toMatch(
      /Unable to locate package no-such-package-anywhere/,
    );
    // consfig check says so first, from apt-get's simulation, changing nothing.
    const check = (...props: Propapp[]) =>
      deploy(defineHost('lib.example', [debian, ...props]), [chroot(t.root)], { dryRun: true });
    const checked = await check(apt.installed('hello', 'no-such-package-anywhere'));
    expect(checked.failures.map((f) => f.error.message)).toEqual([
      'apt-get install would fail on lib.example: Unable to locate package no-such-package-anywhere',
    ]);
    // Unless a property before it would change apt's sources: then it would change.
    const sourced = await check(
      file.hasContent('/etc/apt/sources.list.d/extra.list', '# more to come\n'),
      apt.installed('no-such-package-anywhere'),
    );
    expect([sourced.failures, sourced.changed]).toEqual([[], 2]);
    // An Essential package is refused as apt-get -y refuses it.
    const essential = await check(apt.removed('coreutils'));
    expect(essential.failures[0]!.error.message).toMatch(
      /^apt-get remove would fail on lib\.example: Essential packages were removed and -y was used/,
    );
    expect(inside('dpkg-query', '-W', '-f', '${Status}', 'coreutils')).toBe('install ok installed');
    const proxy = await deploy(defineHost('lib.example', [debian, apt.proxy('not a url')]), 'local');
    expect(proxy.failures[0]!.error).toBeInstanceOf(InvalidArgumentError);
    expect(proxy.failures[0]!.error.message).toMatch(/apt\.proxy.*must be a URL/);
    const noOs = await deploy(defineHost('lib.example', [apt.installed('hello')]), 'local');
    expect(noOs.failures[0]!.error).toBeInstanceOf(InapplicablePropertyError);
    expect(noOs.failures[0]!.error.message).toMatch(/apt\.installed needs debian, but the host declares no OS/);
    const typed = await deploy(defineHost('lib.example', [os.typecase({ fedora: apt.installed('hello') })]), 'local');
    expect(typed.failures[0]!.error.message).toMatch(/only for fedora, but the host declares no OS/);
    const chosen = defineHost('lib.example', [
      debian,
      os.typecase({ debian: apt.installed('hello'), fedora: apt.installed('nope') }),
    ]);
    expect((await deploy(chosen, [chroot(t.root)])).failures).toEqual([]);
  }, 300_000);
});
