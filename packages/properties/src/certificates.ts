/**
 * certificates: a certificate from an ACME CA (Let's Encrypt unless another server is
 * named) through certbot's webroot method, kept in /etc/letsencrypt/live/DOMAIN and
 * renewed by certbot's own timer or cron job. The web server must serve
 * `WEBROOT/.well-known/acme-challenge/` for each name over port 80 (apache.httpsVhost
 * does, with `certificate: { letsEncrypt: ... }`).
 */
import { defprop, desc, eseq, type Propapp, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';
import { installed } from './apt.js';
import { absolutePath, domainName } from './schemas.js';

export const letsEncryptOptions = z
  .object({
    email: z.string().email('must be an email address (the CA writes there about expiry)'),
    agreeTos: z.literal(true, { errorMap: () => ({ message: "must be true: the CA's terms must be agreed to" }) }),
    webroot: absolutePath,
    aliases: z.array(domainName).default([]),
    /** The ACME directory URL (default: Let's Encrypt's production server). */
    server: z.string().url().optional(),
    /** CA certificates to trust for the ACME server's own TLS (a test server's), on the target. */
    caBundle: absolutePath.optional(),
  })
  .strict();
export type LetsEncryptOptions = z.input<typeof letsEncryptOptions>;

/** Where certbot keeps the current certificate and key of `domain` (fullchain.pem, privkey.pem). */
export const livePath = (domain: string) => `/etc/letsencrypt/live/${domain}`;

/** The names the live certificate covers (empty when there is none). */
async function coveredNames(ctx: PropertyContext, domain: string): Promise<string[]> {
  const r = await ctx.run(
    ['openssl', 'x509', '-noout', '-ext', 'subjectAltName', '-in', `${livePath(domain)}/cert.pem`],
    {
      readOnly: true,
      allowFailure: true,
    },
  );
  if (r.exitCode !== 0) return [];
  return [...r.stdout.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]!);
}

const obtained = defprop({
  name: 'certificates.letsEncrypt',
  desc: (domain) => `certificate for ${domain}`,
  args: z.tuple([domainName, letsEncryptOptions]),
  argNames: ['domain', 'options'],
  prefetch: (domain) => [{ path: `${livePath(domain)}/fullchain.pem` }],
  check: async (ctx, domain, o) => {
    const names = [domain, ...o.aliases];
    const have = (await ctx.stat(`${livePath(domain)}/fullchain.pem`)).exists ? await coveredNames(ctx, domain) : [];
    if (names.every((n) => have.includes(n))) return true;
    const before = have.length ? `for ${have.join(', ')}` : 'absent';
    const change = { path: livePath(domain), before, after: `for ${names.join(', ')}`, kind: 'metadata' as const };
    return { applied: false, changes: [change] };
  },
  apply: async (ctx, domain, o) => {
    await ctx.run(['mkdir', '-p', `${o.webroot}/.well-known/acme-challenge`], { affects: [o.webroot] });
    const argv = [
      'certbot',
      'certonly',
      '--non-interactive',
      '--agree-tos',
      '--email',
      o.email,
      '--webroot',
      '--webroot-path',
      o.webroot,
      '--cert-name',
      domain,
      '--expand',
      ...[domain, ...o.aliases].flatMap((n) => ['-d', n]),
      ...(o.server ? ['--server', o.server] : []),
    ];
    await ctx.run(argv, {
      affects: ['/etc/letsencrypt', '/var/lib/letsencrypt', '/var/log/letsencrypt', o.webroot],
      ...(o.caBundle ? { env: { REQUESTS_CA_BUNDLE: o.caBundle } } : {}),
    });
  },
  unapply: async (ctx, domain) => {
    await ctx.run(['certbot', 'delete', '--non-interactive', '--cert-name', domain], { affects: ['/etc/letsencrypt'] });
  },
});

/**
 * certbot installed, and a certificate for the domain (and aliases) issued through the
 * webroot: `letsEncrypt('www.example.com', { email, agreeTos: true, webroot: '/srv/www' })`.
 * Re-applied only when the live certificate lacks a name; renewal is certbot's.
 */
export function letsEncrypt(domain: string, options: LetsEncryptOptions): Propapp {
  return desc(
    `Let's Encrypt certificate for ${domain}`,
    eseq(installed('certbot'), obtained(domain, options as never)),
  );
}
