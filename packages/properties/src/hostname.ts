/** hostname: /etc/hostname (the short name), /etc/hosts (FQDN and short name on 127.0.1.1), /etc/mailname. */
import { attrs, defprop, isValidHostname, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { change, changesOf, checkLines, checkResult, regularContent, rewriteLines } from './text-file.js';

function names(ctx: PropertyContext, given: string | undefined): { fqdn: string; short: string } {
  const fqdn = given ?? ctx.attrs.first(attrs.hostname) ?? ctx.hostname;
  return { fqdn, short: fqdn.split('.')[0]! };
}

function hostsLines(old: string[], fqdn: string, short: string): string[] {
  const keep = old.filter((l) => !/^127\.0\.1\.1\s/.test(l) && !/^127\.0\.0\.1\s/.test(l));
  const loopback = fqdn === short ? `127.0.1.1\t${short}` : `127.0.1.1\t${fqdn}\t${short}`;
  return ['127.0.0.1\tlocalhost', loopback, ...keep];
}

/** /etc/hostname and /etc/hosts name the host `hostname`, by default the host's own name. */
export const configured = withParams<[hostname?: Arg]>()(
  defprop({
    name: 'hostname.configured',
    desc: (name) => `hostname is ${name ?? 'the host name'}`,
    args: z.tuple([z.string().refine(isValidHostname, 'must be a valid host name').optional()]),
    argNames: ['hostname'],
    prefetch: () => [
      { path: '/etc/hostname', content: true },
      { path: '/etc/hosts', content: true },
    ],
    check: async (ctx, given) => {
      const { fqdn, short } = names(ctx, given);
      const hostname = await regularContent(ctx, '/etc/hostname');
      const changes = changesOf(await checkLines(ctx, '/etc/hosts', (old) => hostsLines(old, fqdn, short)));
      if (hostname?.toString('utf8') !== `${short}\n`)
        changes.unshift(change('/etc/hostname', hostname, Buffer.from(`${short}\n`)));
      return checkResult(changes);
    },
    apply: async (ctx, given) => {
      const { fqdn, short } = names(ctx, given);
      await ctx.writeFile('/etc/hostname', `${short}\n`);
      await rewriteLines(ctx, '/etc/hosts', (old) => hostsLines(old, fqdn, short));
    },
  }),
);

/** /etc/mailname holds `mailname`, by default the host's full name (what mail programs sign as). */
export const mailnameConfigured = withParams<[mailname?: Arg]>()(
  defprop({
    name: 'hostname.mailnameConfigured',
    desc: (name) => `mailname is ${name ?? 'the host name'}`,
    args: z.tuple([z.string().refine(isValidHostname, 'must be a valid host name').optional()]),
    argNames: ['mailname'],
    prefetch: () => [{ path: '/etc/mailname', content: true }],
    check: async (ctx, given) => {
      const want = Buffer.from(`${names(ctx, given).fqdn}\n`);
      const old = await regularContent(ctx, '/etc/mailname');
      return old?.equals(want) || { applied: false, changes: [change('/etc/mailname', old, want)] };
    },
    apply: async (ctx, given) => {
      await ctx.writeFile('/etc/mailname', `${names(ctx, given).fqdn}\n`, { mode: 0o644 });
    },
  }),
);
