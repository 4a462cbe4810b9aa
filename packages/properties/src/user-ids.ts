/** user.groupExists, user.hasAccountWithUid: accounts and groups with the ids asked for. */
import { defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';

export const userName = z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a user name (lower case, digits, _ and -)');
const id = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0 or more')
  .max(2 ** 32 - 2, 'is too large');

/** name → [id, line] from a colon file such as /etc/passwd or /etc/group (read in the batch). */
async function table(ctx: PropertyContext, path: string): Promise<Map<string, string[]>> {
  const info = await ctx.stat(path);
  const text = info.exists ? (await ctx.readFile(path)).toString('utf8') : '';
  return new Map(text.split('\n').flatMap((l) => (l.includes(':') ? [[l.split(':')[0]!, l.split(':')]] : [])));
}

/** The group exists (with `options.gid` when given). */
export const groupExists = withParams<[group: Arg, options?: Arg]>()(
  defprop({
    name: 'user.groupExists',
    desc: (group, o) => `group ${group} exists${o?.gid !== undefined ? ` with gid ${o.gid}` : ''}`,
    args: z.tuple([userName, z.object({ gid: id.optional() }).strict().optional()]),
    argNames: ['group', 'options'],
    prefetch: () => [{ path: '/etc/group', content: true }],
    check: async (ctx, group, o = {}) => {
      const entry = (await table(ctx, '/etc/group')).get(group);
      if (entry && (o.gid === undefined || Number(entry[2]) === o.gid)) return true;
      const after = `${group}${o.gid !== undefined ? ` (gid ${o.gid})` : ''}`;
      const before = entry ? `${group} (gid ${entry[2]})` : 'absent';
      return { applied: false, changes: [{ path: '/etc/group', before, after, kind: 'metadata' }] };
    },
    apply: async (ctx, group, o = {}) => {
      const exists = (await table(ctx, '/etc/group')).has(group);
      const gid = o.gid !== undefined ? ['-g', String(o.gid)] : [];
      await ctx.run(exists ? ['groupmod', ...gid, group] : ['groupadd', ...gid, group], { affects: ['/etc'] });
    },
    unapply: async (ctx, group) => {
      if ((await table(ctx, '/etc/group')).has(group)) await ctx.run(['groupdel', group], { affects: ['/etc'] });
    },
  }),
);

/**
 * The account exists with this uid: made with it (and a home), or moved to it (usermod
 * also gives the home's files to the new uid).
 */
export const hasAccountWithUid = withParams<[user: Arg, uid: Arg]>()(
  defprop({
    name: 'user.hasAccountWithUid',
    desc: (user, uid) => `user ${user} exists with uid ${uid}`,
    args: z.tuple([userName, id]),
    argNames: ['user', 'uid'],
    prefetch: () => [{ path: '/etc/passwd', content: true }],
    check: async (ctx, user, uid) => {
      const entry = (await table(ctx, '/etc/passwd')).get(user);
      if (entry && Number(entry[2]) === uid) return true;
      const before = entry ? `${user} (uid ${entry[2]})` : 'absent';
      return {
        applied: false,
        changes: [{ path: '/etc/passwd', before, after: `${user} (uid ${uid})`, kind: 'metadata' }],
      };
    },
    apply: async (ctx, user, uid) => {
      const users = await table(ctx, '/etc/passwd');
      const holder = [...users.values()].find((e) => Number(e[2]) === uid && e[0] !== user);
      if (holder) ctx.fail(`uid ${uid} belongs to ${holder[0]} on ${ctx.hostname}`);
      const argv = users.has(user) ? ['usermod', '-u', String(uid), user] : ['useradd', '-m', '-u', String(uid), user];
      await ctx.run(argv, { affects: ['/etc', '/home'] });
    },
    unapply: async (ctx, user) => {
      if ((await table(ctx, '/etc/passwd')).has(user)) await ctx.run(['userdel', user], { affects: ['/etc'] });
    },
  }),
);
