import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defineHost, deploy, openConnection, type Connection, type Propapp } from '@consfig/core';
import { chroot, nsenter } from '@consfig/connections';
import { apache, file, service } from '../src/index.js';
import { startPebble } from './support/acme.js';
import { chrootHost, debian } from './support/chroot-host.js';

const t = chrootHost('apache');
const { twice, inside } = t;

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
      file.hasContent('/etc/apache2/ports.conf', [
        'Listen 127.0.0.1:80',
        '<IfModule ssl_module>',
        '  Listen 127.0.0.1:443',
        '</IfModule>',
      ]),
      apache.httpsVhost({ domain, htdocs: '/srv/www', certificate: { selfSigned: true } }),
      file.hasContent('/srv/www/index.html', '<h1>served by consfig</h1>'),
    ];
    // apache installs the first time; the site and redirect after that
    await deploy(defineHost('lib.example', [debian, apache.installed()]), [chroot(t.root)]);
    await twice(...site);
    expect(inside('a2query', '-m', 'ssl')).toMatch(/enabled/);
    conn = await openConnection([chroot(t.root)]);
    const started = await conn.run(['apache2ctl', 'start']);
    expect(started.exitCode, started.stderr.toString()).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    const page = execFileSync('curl', ['-sk', '--resolve', `${domain}:443:127.0.0.1`, `https://${domain}/`], {
      encoding: 'utf8',
    });
    expect(page).toBe('<h1>served by consfig</h1>\n');
    const redirect = execFileSync(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{redirect_url}',
        '--resolve',
        `${domain}:80:127.0.0.1`,
        `http://${domain}/x`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(redirect).toBe(`301 https://${domain}/x`);
    // a change now reloads the running apache (entered where it runs: the connection's
    // private /run holds its pid file)
    const events: string[] = [];
    await deploy(defineHost('lib.example', [debian, apache.siteEnabled(domain, ['# replaced'])]), [nsenter(conn.pid)], {
      onEvent: (e) => void (e.type === 'command' && events.push(e.argv.join(' '))),
    });
    expect(events).toContain('service apache2 reload');
    await deploy(
      defineHost('lib.example', [
        debian,
        apache.siteEnabled(
          domain,
          apache.httpsVhostConfig(
            apache.httpsVhostOptions.parse({ domain, htdocs: '/srv/www', certificate: { selfSigned: true } }),
          ),
        ),
      ]),
      [nsenter(conn.pid)],
    );
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

  it("gets a certificate from an ACME CA through the site's own port 80, then serves https with it", async () => {
    const pebble = await startPebble();
    try {
      copyFileSync(pebble.caFile, `${t.root}/etc/ssl/consfig-test-acme-ca.pem`);
      const domain = 'acme.consfig.test';
      const site = apache.httpsVhost({
        domain,
        aliases: ['www.acme.consfig.test'],
        htdocs: '/srv/acme',
        certificate: {
          letsEncrypt: {
            email: 'admin@consfig.test',
            agreeTos: true,
            server: pebble.directory,
            caBundle: '/etc/ssl/consfig-test-acme-ca.pem',
          },
        },
      });
      const where = [nsenter(conn!.pid)];
      const host = defineHost('lib.example', [debian, site, file.hasContent('/srv/acme/index.html', 'acme site')]);
      const first = await deploy(host, where);
      expect(first.failures.map((f) => f.error.message)).toEqual([]);
      // pebble fetched each challenge from port 80 here, which the redirect leaves alone
      const issuer = execFileSync('sh', [
        '-c',
        `echo | openssl s_client -connect 127.0.0.1:443 -servername www.${domain} 2>/dev/null |
         openssl x509 -noout -issuer`,
      ]).toString();
      expect(issuer).toMatch(/Pebble Intermediate CA/);
      const page = execFileSync('curl', ['-sk', '--resolve', `${domain}:443:127.0.0.1`, `https://${domain}/`]);
      expect(page.toString()).toBe('acme site\n');
      expect((await deploy(host, where)).changed).toBe(0);
      const redirect = execFileSync('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--resolve',
        `${domain}:80:127.0.0.1`,
        `http://${domain}/index.html`,
      ]).toString();
      expect(redirect).toBe('301');
    } finally {
      pebble.stop();
    }
  }, 300_000);

  it('refuses bad options naming the option', async () => {
    const r = await deploy(
      defineHost('lib.example', [
        debian,
        apache.httpsVhost({ domain: 'bad domain', htdocs: '/srv', certificate: { selfSigned: true } }),
      ]),
      'local',
    );
    expect(r.failures[0]!.error.message).toBe(
      "invalid argument 'options.domain' to apache.httpsVhost: must be a domain name such as www.example.com",
    );
  });
});
