import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attrs,
  defineHost,
  deploy,
  InapplicablePropertyError,
  InvalidArgumentError,
  openConnection,
  type Connection,
  type Propapp,
  unapply,
} from '@consfig/core';
import { chroot, nsenter } from '@consfig/connections';
import { apache, apt, file, hostname, os, service, systemd, user } from '../src/index.js';
import { unpackRootfs } from '../../connections/test/support/machine.js';

const ROOT = '/var/lib/consfig-test/library-chroot';
let root: string;

beforeAll(() => {
  root = unpackRootfs(ROOT);
}, 300_000);

const debian = os.debianStable('bookworm', 'amd64');

/** Apply inside the chroot twice: the first run changes, the second does not. */
async function twice(...props: Propapp[]) {
  const host = defineHost('lib.example', [debian, ...props]);
  const first = await deploy(host, [chroot(root)]);
  expect(first.failures.map((f) => f.error.message)).toEqual([]);
  expect(first.changed).toBeGreaterThan(0);
  const second = await deploy(host, [chroot(root)]);
  expect(second.failures.map((f) => f.error.message)).toEqual([]);
  expect(second.changed).toBe(0);
  return first;
}

function inside(...argv: string[]): string {
  return execFileSync('chroot', [root, ...argv], { encoding: 'utf8' });
}

describe('apt', () => {
  it('installs and removes packages, reading the installed set once per deployment', async () => {
    await twice(apt.installed('hello', 'cowsay'));
    expect(inside('dpkg-query', '-W', '-f', '${Status}', 'hello')).toBe('install ok installed');
    const events: string[] = [];
    await deploy(defineHost('lib.example', [debian, apt.installed('hello'), apt.installed('cowsay'), apt.installed('hello')]), [chroot(root)], {
      onEvent: (e) => void (e.type === 'command' && events.push(e.argv.join(' '))),
    });
    expect(events.filter((c) => c.startsWith('dpkg-query'))).toHaveLength(1);
    await twice(apt.removed('cowsay'));
    expect(inside('sh', '-c', 'dpkg -s cowsay >/dev/null 2>&1 && echo installed || echo absent')).toBe('absent\n');
  }, 300_000);

  it('writes the proxy, the standard sources and cleans the cache', async () => {
    await twice(apt.proxy('http://127.0.0.1:3142'));
    expect(readFileSync(`${root}/etc/apt/apt.conf.d/00consfig-proxy`, 'utf8')).toBe('Acquire::http::Proxy "http://127.0.0.1:3142";\n');
    await deploy(defineHost('lib.example', [debian, file.removed('/etc/apt/apt.conf.d/00consfig-proxy')]), [chroot(root)]);
    const host = defineHost('lib.example', [debian, apt.mirrors('http://deb.debian.org/debian'), apt.standardSourcesList()]);
    await deploy(host, [chroot(root)]);
    expect(readFileSync(`${root}/etc/apt/sources.list.d/debian.sources`, 'utf8')).toMatch(/Suites: bookworm bookworm-updates\n[\s\S]*bookworm-security/);
    expect((await deploy(host, [chroot(root)])).changed).toBe(0);
    await deploy(defineHost('lib.example', [debian, apt.cacheCleaned()]), [chroot(root)]);
    expect(inside('sh', '-c', 'ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l').trim()).toBe('0');
  }, 300_000);

  it('adds sources (updating the lists on change) and upgrades', async () => {
    const extra = apt.additionalSources('consfig-test', 'deb http://deb.debian.org/debian bookworm-backports main\n');
    const first = await twice(extra);
    expect(first.changed).toBe(2); // the sources file, and the update it triggered
    expect(readFileSync(`${root}/etc/apt/sources.list.d/consfig-test.list`, 'utf8')).toMatch(/bookworm-backports/);
    expect(inside('sh', '-c', 'ls /var/lib/apt/lists | grep -c backports')).not.toBe('0\n');
    await deploy(defineHost('lib.example', [debian, apt.upgraded()]), [chroot(root)]);
    const again = await deploy(defineHost('lib.example', [debian, apt.upgraded()]), [chroot(root)]);
    expect([again.status, again.changed]).toEqual(['ok', 0]);
    await deploy(defineHost('lib.example', [debian, file.removed('/etc/apt/sources.list.d/consfig-test.list'), apt.updated()]), [chroot(root)]);
  }, 300_000);

  it('refuses an unknown package, a malformed proxy and non-Debian hosts clearly', async () => {
    const unknown = await deploy(defineHost('lib.example', [debian, apt.installed('no-such-package-anywhere')]), [chroot(root)]);
    expect(unknown.failures[0]!.error).toMatchObject({ code: 'CONSFIG_COMMAND_FAILED', exitCode: 100 });
    expect((unknown.failures[0]!.error as { stderr: string }).stderr).toMatch(/Unable to locate package no-such-package-anywhere/);
    const proxy = await deploy(defineHost('lib.example', [debian, apt.proxy('not a url')]), 'local');
    expect(proxy.failures[0]!.error).toBeInstanceOf(InvalidArgumentError);
    expect(proxy.failures[0]!.error.message).toMatch(/apt\.proxy.*must be a URL/);
    const noOs = await deploy(defineHost('lib.example', [apt.installed('hello')]), 'local');
    expect(noOs.failures[0]!.error).toBeInstanceOf(InapplicablePropertyError);
    expect(noOs.failures[0]!.error.message).toMatch(/apt\.installed needs debian, but the host declares no OS/);
    const typed = await deploy(defineHost('lib.example', [os.typecase({ fedora: apt.installed('hello') })]), 'local');
    expect(typed.failures[0]!.error.message).toMatch(/only for fedora, but the host declares no OS/);
    const chosen = defineHost('lib.example', [debian, os.typecase({ debian: apt.installed('hello'), fedora: apt.installed('nope') })]);
    expect((await deploy(chosen, [chroot(root)])).failures).toEqual([]);
  }, 300_000);
});

describe('user, hostname, systemd', () => {
  it('accounts, shells, groups and homes', async () => {
    await twice(user.hasAccount('alice'), user.hasLoginShell('alice', '/bin/bash'), user.inGroups('alice', 'adm', 'staff'));
    expect(inside('getent', 'passwd', 'alice')).toMatch(/:\/bin\/bash\n$/);
    expect(inside('id', '-nG', 'alice')).toMatch(/adm.*staff/);
    execFileSync('rm', ['-rf', `${root}/home/alice`]);
    await twice(user.hasHome('alice'));
    expect(inside('stat', '-c', '%U %a', '/home/alice')).toBe('alice 755\n');
  });

  it('hostname in /etc/hostname and /etc/hosts', async () => {
    await twice(hostname.configured('web.example.com'));
    expect(readFileSync(`${root}/etc/hostname`, 'utf8')).toBe('web\n');
    expect(readFileSync(`${root}/etc/hosts`, 'utf8')).toMatch(/^127\.0\.0\.1\tlocalhost\n127\.0\.1\.1\tweb\.example\.com\tweb\n/);
  });

  it('lingering and unit enablement, offline', async () => {
    await twice(systemd.lingeringEnabled('alice'));
    expect(inside('ls', '/var/lib/systemd/linger')).toBe('alice\n');
    await twice(apt.installed('systemd'), systemd.enabled('systemd-networkd.service'));
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
    await twice(systemd.enabled('systemd-tmpfiles-clean.timer', { userInstance: 'alice' }));
    expect(inside('runuser', '-u', 'alice', '--', 'systemctl', '--user', 'is-enabled', 'systemd-tmpfiles-clean.timer')).toBe('enabled\n');
    await twice(systemd.masked('systemd-networkd.service'));
    expect(inside('sh', '-c', 'systemctl is-enabled systemd-networkd.service || true')).toBe('masked\n');
    const unmasked = await deploy(defineHost('lib.example', [debian, unapply(systemd.masked('systemd-networkd.service'))]), [chroot(root)]);
    expect([unmasked.failures.length, unmasked.changed]).toEqual([0, 1]);
    expect(inside('systemctl', 'is-enabled', 'systemd-networkd.service')).toBe('enabled\n');
  }, 300_000);

  it('services do nothing on hosts without services', async () => {
    const host = defineHost('lib.example', [debian, service.running('no-such-service')], { attrs: [[attrs.noServices, true]] });
    const r = await deploy(host, [chroot(root)]);
    expect([r.status, r.changed]).toEqual(['ok', 0]);
  });
});

describe('apache', () => {
  let conn: Connection | undefined;
  afterAll(async () => {
    await conn?.run(['apache2ctl', 'stop']);
    await conn?.close();
  });

  it('serves an https vhost with a redirect from port 80', async () => {
    const domain = 'www.consfig.test';
    const site = [
      // only on loopback, for the test
      file.hasContent('/etc/apache2/ports.conf', ['Listen 127.0.0.1:80', '<IfModule ssl_module>', '  Listen 127.0.0.1:443', '</IfModule>']),
      apache.httpsVhost({ domain, htdocs: '/srv/www', certificate: { selfSigned: true } }),
      file.hasContent('/srv/www/index.html', '<h1>served by consfig</h1>'),
    ];
    // apache installs the first time; the site and redirect after that
    await deploy(defineHost('lib.example', [debian, apache.installed()]), [chroot(root)]);
    await twice(...site);
    expect(inside('a2query', '-m', 'ssl')).toMatch(/enabled/);
    conn = await openConnection([chroot(root)]);
    const started = await conn.run(['apache2ctl', 'start']);
    expect(started.exitCode, started.stderr.toString()).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    const page = execFileSync('curl', ['-sk', '--resolve', `${domain}:443:127.0.0.1`, `https://${domain}/`], { encoding: 'utf8' });
    expect(page).toBe('<h1>served by consfig</h1>\n');
    const redirect = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '--resolve', `${domain}:80:127.0.0.1`, `http://${domain}/x`], {
      encoding: 'utf8',
    });
    expect(redirect).toBe(`301 https://${domain}/x`);
    // a change now reloads the running apache (entered where it runs: the connection's
    // private /run holds its pid file)
    const events: string[] = [];
    await deploy(defineHost('lib.example', [debian, apache.siteEnabled(domain, ['# replaced'])]), [nsenter(conn.pid)], {
      onEvent: (e) => void (e.type === 'command' && events.push(e.argv.join(' '))),
    });
    expect(events).toContain('service apache2 reload');
    await deploy(defineHost('lib.example', [debian, apache.siteEnabled(domain, apache.httpsVhostConfig(apache.httpsVhostOptions.parse({ domain, htdocs: '/srv/www', certificate: { selfSigned: true } })))]), [nsenter(conn.pid)]);
  }, 300_000);

  it('confs, and services stopped, started and enabled where apache runs', async () => {
    const where = [nsenter(conn!.pid)];
    const twiceThere = async (...props: Propapp[]) => {
      const host = defineHost('lib.example', [debian, ...props]);
      const first = await deploy(host, where);
      expect(first.failures.map((f) => f.error.message)).toEqual([]);
      expect(first.changed).toBeGreaterThan(0);
      expect((await deploy(host, where)).changed).toBe(0);
    };
    await twiceThere(apache.confEnabled('consfig-test', ['ServerTokens Prod']));
    expect(inside('a2query', '-c', 'consfig-test')).toMatch(/enabled/);
    await twiceThere(service.stopped('apache2'));
    expect((await conn!.run(['service', 'apache2', 'status'])).exitCode).not.toBe(0);
    await twiceThere(service.running('apache2'));
    expect((await conn!.run(['service', 'apache2', 'status'])).exitCode).toBe(0);
    inside('update-rc.d', 'apache2', 'disable');
    await twiceThere(service.enabled('apache2'));
    expect(inside('sh', '-c', 'ls /etc/rc2.d/ | grep -c S..apache2')).toBe('1\n');
  }, 120_000);

  it('refuses bad options naming the option', async () => {
    const r = await deploy(defineHost('lib.example', [debian, apache.httpsVhost({ domain: 'bad domain', htdocs: '/srv', certificate: { selfSigned: true } })]), 'local');
    expect(r.failures[0]!.error.message).toBe("invalid argument 'options.domain' to apache.httpsVhost: must be a domain name such as www.example.com");
  });
});
