/**
 * apache: Debian's apache2 with its a2enmod/a2ensite/a2query tools, reloaded when its config
 * changes, and `httpsVhost` as in the seed: a 443 vhost plus a port-80 redirect that
 * leaves ACME challenges alone. The certificate is given as files, generated self-signed
 * (tests, internal sites), or obtained from Let's Encrypt (or another ACME CA) by certbot
 * through htdocs, the 443 vhost waiting for it (`<IfFile>`).
 */
import { defprop, desc, eseq, invalidApplication, onChange, type Propapp } from '@consfig/core/property';
import { z } from 'zod';
import { installed as aptInstalled } from './apt.js';
import { directoryExists, hasContent } from './file.js';
import { reloaded as serviceReloaded } from './service.js';
import { letsEncrypt, letsEncryptOptions, livePath } from './certificates.js';
import { domainName } from './schemas.js';

const confName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a name such as ssl or mysite');

/** apache2 is installed. */
export function installed(): Propapp {
  return aptInstalled('apache2');
}

/** apache2 reloads its configuration (where it runs): for onChange after a site or module. */
export function reloaded(): Propapp {
  return serviceReloaded('apache2');
}

function a2(kind: 'mod' | 'conf' | 'site', flag: '-m' | '-c' | '-s') {
  const enable = `a2en${kind}`;
  const disable = `a2dis${kind}`;
  return defprop({
    name: `apache.${kind}Enabled`,
    desc: (name) => `apache ${kind} ${name} enabled`,
    args: z.tuple([kind === 'site' ? domainName.or(confName) : confName]),
    argNames: [kind],
    check: (ctx, name) => ctx.test(['a2query', '-q', flag, name]),
    apply: async (ctx, name) => {
      await ctx.run([enable, '-q', name]);
    },
    unapply: async (ctx, name) => {
      await ctx.run([disable, '-q', name]);
    },
  });
}

const modEnabledProp = a2('mod', '-m');
const confEnabledProp = a2('conf', '-c');
const siteEnabledProp = a2('site', '-s');

// Each of these enables, and reloads apache on change, after apache2 is installed (where
// a2enmod comes from): on its own, it installs it first; httpsVhost installs it once.
const modOn = (name: string) => onChange(modEnabledProp(name), reloaded());
const siteOn = (domain: string, config?: string[]) =>
  onChange(eseq(config ? siteAvailable(domain, config) : undefined, siteEnabledProp(domain)), reloaded());

/** apache2 installed and a module enabled; apache reloaded when that changed. */
export function modEnabled(name: string): Propapp {
  return eseq(installed(), modOn(name));
}

/** /etc/apache2/conf-available/NAME.conf with these lines. */
export function confAvailable(name: string, lines: string[]): Propapp {
  return hasContent(`/etc/apache2/conf-available/${name}.conf`, lines);
}

/** apache2 installed and a conf enabled (with its content, when given); apache reloaded on change. */
export function confEnabled(name: string, lines?: string[]): Propapp {
  return eseq(
    installed(),
    onChange(eseq(lines ? confAvailable(name, lines) : undefined, confEnabledProp(name)), reloaded()),
  );
}

/** /etc/apache2/sites-available/DOMAIN.conf. */
export function siteAvailable(domain: string, config: string[]): Propapp {
  return hasContent(`/etc/apache2/sites-available/${domain}.conf`, config);
}

/** apache2 installed and a site enabled (with its config, when given); apache reloaded on change. */
export function siteEnabled(domain: string, config?: string[]): Propapp {
  return eseq(installed(), siteOn(domain, config));
}

const certificateSchema = z.union([
  z
    .object({
      files: z
        .object({
          cert: z.string().startsWith('/'),
          key: z.string().startsWith('/'),
          chain: z.string().startsWith('/').optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ selfSigned: z.literal(true) }).strict(),
  z.object({ letsEncrypt: letsEncryptOptions.omit({ webroot: true, aliases: true }) }).strict(),
]);

export const httpsVhostOptions = z
  .object({
    domain: domainName,
    htdocs: z.string().startsWith('/', 'must be an absolute path'),
    aliases: z.array(domainName).default([]),
    additionalConfig: z.array(z.string()).default([]),
    additionalConfigHttps: z.array(z.string()).default([]),
    certificate: certificateSchema,
  })
  .strict();
export type HttpsVhostOptions = z.input<typeof httpsVhostOptions>;

const SELF_SIGNED_DIR = '/etc/ssl/consfig';

/** A self-signed certificate for the domain and its aliases, made once. */
const selfSignedCertificate = defprop({
  name: 'apache.selfSignedCertificate',
  desc: (domain) => `self-signed certificate for ${domain}`,
  args: z.tuple([domainName, z.array(domainName)]),
  argNames: ['domain', 'aliases'],
  prefetch: (domain) => [{ path: `${SELF_SIGNED_DIR}/${domain}.crt` }, { path: `${SELF_SIGNED_DIR}/${domain}.key` }],
  check: async (ctx, domain) =>
    (await ctx.stat(`${SELF_SIGNED_DIR}/${domain}.crt`)).exists &&
    (await ctx.stat(`${SELF_SIGNED_DIR}/${domain}.key`)).exists,
  apply: async (ctx, domain, aliases) => {
    await ctx.run(['mkdir', '-p', SELF_SIGNED_DIR], { affects: [SELF_SIGNED_DIR] });
    const names = [domain, ...aliases].map((n) => `DNS:${n}`).join(',');
    await ctx.run(
      [
        'openssl',
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        `/CN=${domain}`,
        '-addext',
        `subjectAltName=${names}`,
        '-keyout',
        `${SELF_SIGNED_DIR}/${domain}.key`,
        '-out',
        `${SELF_SIGNED_DIR}/${domain}.crt`,
      ],
      { affects: [`${SELF_SIGNED_DIR}/${domain}.key`, `${SELF_SIGNED_DIR}/${domain}.crt`], umask: '077' },
    );
  },
});

/** The site's configuration: port 80 redirects to https, port 443 serves htdocs. */
export function httpsVhostConfig(o: z.output<typeof httpsVhostOptions>): string[] {
  const acme = 'letsEncrypt' in o.certificate;
  const [cert, key] =
    'files' in o.certificate
      ? [o.certificate.files.cert, o.certificate.files.key]
      : acme
        ? [`${livePath(o.domain)}/fullchain.pem`, `${livePath(o.domain)}/privkey.pem`]
        : [`${SELF_SIGNED_DIR}/${o.domain}.crt`, `${SELF_SIGNED_DIR}/${o.domain}.key`];
  const chain =
    'files' in o.certificate && o.certificate.files.chain
      ? [`    SSLCertificateChainFile ${o.certificate.files.chain}`]
      : [];
  const names = [`    ServerName ${o.domain}`, ...o.aliases.map((a) => `    ServerAlias ${a}`)];
  const logs = [
    `    ErrorLog \${APACHE_LOG_DIR}/${o.domain}-error.log`,
    `    CustomLog \${APACHE_LOG_DIR}/${o.domain}-access.log combined`,
  ];
  return [
    '# Written by consfig.',
    `<Directory ${o.htdocs}>`,
    '    Require all granted',
    '</Directory>',
    '',
    '<VirtualHost *:80>',
    ...names,
    `    DocumentRoot ${o.htdocs}`,
    ...logs,
    '    RewriteEngine on',
    // ACME http-01 challenges are answered here, over plain http, from htdocs.
    '    RewriteCond %{REQUEST_URI} !^/\\.well-known/acme-challenge/',
    '    RewriteRule ^/(.*)$ https://%{HTTP_HOST}/$1 [R=301,L]',
    ...o.additionalConfig.map((l) => `    ${l}`),
    '</VirtualHost>',
    '',
    '<IfModule ssl_module>',
    // Until the CA has issued the certificate, the site is served over http alone.
    ...(acme ? [`<IfFile ${cert}>`] : []),
    '<VirtualHost *:443>',
    ...names,
    `    DocumentRoot ${o.htdocs}`,
    ...logs,
    '    SSLEngine on',
    `    SSLCertificateFile ${cert}`,
    `    SSLCertificateKeyFile ${key}`,
    ...chain,
    ...o.additionalConfig.map((l) => `    ${l}`),
    ...o.additionalConfigHttps.map((l) => `    ${l}`),
    '</VirtualHost>',
    ...(acme ? ['</IfFile>'] : []),
    '</IfModule>',
  ];
}

/**
 * An HTTPS site as in the seed: apache installed, ssl and rewrite enabled, the
 * certificate, htdocs, the site config enabled, and apache reloaded on any change.
 * Bad options fail when the host is resolved, naming host, property and option.
 */
export function httpsVhost(options: HttpsVhostOptions): Propapp {
  const parsed = httpsVhostOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return invalidApplication('apache.httpsVhost', ['options', ...issue.path].join('.'), issue.message);
  }
  const o = parsed.data;
  return desc(
    `https site ${o.domain}`,
    eseq(
      installed(),
      modOn('ssl'),
      modOn('rewrite'),
      'selfSigned' in o.certificate ? selfSignedCertificate(o.domain, o.aliases) : undefined,
      directoryExists(o.htdocs),
      siteOn(o.domain, httpsVhostConfig(o)),
      'letsEncrypt' in o.certificate
        ? onChange(
            letsEncrypt(o.domain, { ...o.certificate.letsEncrypt, webroot: o.htdocs, aliases: o.aliases }),
            reloaded(),
          )
        : undefined,
    ),
  );
}
