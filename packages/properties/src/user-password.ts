/**
 * user.hasLockedPassword, user.hasEnabledPassword: whether an account's password can be
 * used, read from /etc/shadow. An enabled password comes from prerequisite data, as a
 * crypt(3) hash (`mkpasswd`'s `$y$…`, `$6$…`) or as the password itself, hashed on the
 * target by chpasswd; it reaches the target only on stdin and is never shown.
 */
import { defprop, type FileChange, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { userName } from './user-ids.js';

async function shadowField(ctx: PropertyContext, user: string): Promise<string> {
  const text = (await ctx.readFile('/etc/shadow')).toString('utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${user}:`));
  return line?.split(':')[1] ?? ctx.missing(`no user ${user} on ${ctx.hostname} (user.hasAccount first)`);
}

const locked = (field: string) => field.startsWith('!') || field === '*';
const shadowChange = (before: string, after: string): FileChange => ({
  path: '/etc/shadow',
  before,
  after,
  kind: 'metadata',
});

/** `user`'s password is locked (usermod -L): no password login. */
export const hasLockedPassword = withParams<[user: Arg]>()(
  defprop({
    name: 'user.hasLockedPassword',
    desc: (user) => `${user}'s password is locked`,
    args: z.tuple([userName]),
    argNames: ['user'],
    prefetch: () => [{ path: '/etc/shadow', content: true }],
    check: async (ctx, user) => {
      if (locked(await shadowField(ctx, user))) return true;
      return { applied: false, changes: [shadowChange(`${user}: password usable`, `${user}: password locked`)] };
    },
    apply: async (ctx, user) => {
      await ctx.run(['usermod', '-L', user], { affects: ['/etc'] });
    },
    unapply: async (ctx, user) => {
      await ctx.run(['usermod', '-U', user], { affects: ['/etc'] });
    },
  }),
);

const dataOptions = z
  .object({ iden1: z.string().min(1).optional(), iden2: z.string().min(1).optional() })
  .strict()
  .optional();
const isHash = (value: string) => /^\$[0-9a-z]+\$/.test(value);
const item = (hostname: string, user: string, o: { iden1?: string; iden2?: string } = {}) =>
  [o.iden1 ?? hostname, o.iden2 ?? `passwd:${user}`] as const;

async function wanted(ctx: PropertyContext, user: string, o?: { iden1?: string; iden2?: string }): Promise<string> {
  const value = (await ctx.getData(...item(ctx.hostname, user, o))).toString('utf8').replace(/\r?\n$/, '');
  if (value === '' || value.includes('\n') || value.includes(':')) {
    ctx.fail(`the password data for ${user} must be one line without ':' (a crypt hash or the password)`);
  }
  return value;
}

/** Whether `password` hashes, with the salt of `field`, to `field`: perl's crypt on the target. */
async function verifies(ctx: PropertyContext, password: string, field: string): Promise<boolean> {
  const r = await ctx.run(['perl', '-e', 'my $p = <STDIN>; chomp $p; print crypt($p, $ARGV[0]) // ""', field], {
    input: `${password}\n`,
    readOnly: true,
    allowFailure: true,
  });
  return r.exitCode === 0 && r.stdout === field;
}

/** The account's password is usable and is the one in the data `(iden1, iden2)`, by default (HOST, passwd:USER). */
export const hasEnabledPassword = withParams<[user: Arg, options?: Arg]>()(
  defprop({
    name: 'user.hasEnabledPassword',
    desc: (user) => `${user} has its password`,
    args: z.tuple([userName, dataOptions]),
    argNames: ['user', 'options'],
    hostattrs: (h, user, o) => h.requireData(...item(h.hostname, user, o)),
    prefetch: () => [{ path: '/etc/shadow', content: true }],
    check: async (ctx, user, o) => {
      const field = await shadowField(ctx, user);
      const want = await wanted(ctx, user, o);
      const same = isHash(want) ? field === want : !locked(field) && field !== '' && (await verifies(ctx, want, field));
      if (same) return true;
      return { applied: false, changes: [{ path: '/etc/shadow', before: null, after: null, kind: 'secret' }] };
    },
    apply: async (ctx, user, o) => {
      await shadowField(ctx, user);
      const want = await wanted(ctx, user, o);
      await ctx.run(isHash(want) ? ['chpasswd', '-e'] : ['chpasswd'], {
        input: `${user}:${want}\n`,
        affects: ['/etc'],
      });
    },
  }),
);
