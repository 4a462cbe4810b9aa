/**
 * apt (minimal for now): packages installed, noninteractively, with a dpkg lock
 * timeout, refreshing the package lists once when they are missing or stale.
 */
import { CommandFailedError, defprop, requireOs, type PropertyContext } from '@consfig/core';
import { z } from 'zod';

const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/, 'must be a Debian package name');

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' };
const APT_OPTS = ['-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];

/** Which of `pkgs` dpkg does not have fully installed. */
export async function missingPackages(ctx: PropertyContext, pkgs: readonly string[]): Promise<string[]> {
  const r = await ctx.run(['dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\\n', ...pkgs], {
    allowFailure: true,
    readOnly: true,
  });
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => /^\S+ ii/.test(l))
      .map((l) => l.split(' ')[0]!.replace(/:.*$/, '')),
  );
  return pkgs.filter((p) => !installed.has(p.replace(/:.*$/, '')));
}

const STALE = /Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found/;

export const installed = defprop({
  name: 'apt.installed',
  desc: (...pkgs) => `apt installed ${pkgs.join(' ')}`,
  args: z.array(packageName).min(1, 'give at least one package') as unknown as z.ZodType<string[], z.ZodTypeDef, string[]>,
  argNames: ['packages'],
  hostattrs: (h) => void requireOs(h, 'apt.installed', { distribution: 'debian' }),
  check: async (ctx, ...pkgs) => (await missingPackages(ctx, pkgs)).length === 0,
  apply: async (ctx, ...pkgs) => {
    const install = () =>
      ctx.run(['apt-get', '-y', ...APT_OPTS, 'install', ...pkgs], { env: APT_ENV, allowFailure: true });
    let r = await install();
    if (r.exitCode !== 0 && STALE.test(r.stdout + r.stderr)) {
      await ctx.run(['apt-get', ...APT_OPTS, 'update'], { env: APT_ENV });
      r = await install();
    }
    if (r.exitCode !== 0) {
      throw new CommandFailedError(r.raw.argv, r.exitCode, r.stdout, r.stderr, { host: ctx.hostname });
    }
  },
  unapply: async (ctx, ...pkgs) => {
    await ctx.run(['apt-get', '-y', ...APT_OPTS, 'remove', ...pkgs], { env: APT_ENV });
  },
});
