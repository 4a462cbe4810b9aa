/** user: accounts, login shells, groups and home directories (getent, useradd, usermod). */
import { defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { absolutePath } from './schemas.js';
import { changesOf, checkLines, checkResult, rewriteLines } from './text-file.js';

const listShell = (shell: string) => (old: string[]) => (old.includes(shell) ? old : [...old, shell]);

import { userName } from './user-ids.js';

export { groupExists, hasAccountWithUid } from './user-ids.js';
export { hasEnabledPassword, hasLockedPassword } from './user-password.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The user's passwd entry, or undefined. */
export async function passwdEntry(ctx: PropertyContext, user: string): Promise<PasswdEntry | undefined> {
  const r = await ctx.run(['getent', 'passwd', user], { allowFailure: true, readOnly: true });
  if (r.exitCode !== 0) return undefined;
  const f = r.stdout.trim().split(':');
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/**
 * The user's passwd entry; fails the property naming host and user when there is none
 * (in a dry run where properties before it would change things, it would change instead).
 */
export async function entryOrFail(ctx: PropertyContext, user: string): Promise<PasswdEntry> {
  return (await passwdEntry(ctx, user)) ?? ctx.missing(`no user ${user} on ${ctx.hostname} (user.hasAccount first)`);
}

/** The user account exists (useradd with a home directory where missing). */
export const hasAccount = withParams<[user: Arg]>()(
  defprop({
    name: 'user.hasAccount',
    desc: (user) => `user ${user} exists`,
    args: z.tuple([userName]),
    argNames: ['user'],
    check: async (ctx, user) =>
      (await passwdEntry(ctx, user)) !== undefined || {
        applied: false,
        changes: [{ path: '/etc/passwd', before: 'absent', after: `${user} (useradd -m)`, kind: 'metadata' }],
      },
    apply: async (ctx, user) => {
      await ctx.run(['useradd', '-m', user]);
    },
    unapply: async (ctx, user) => {
      await ctx.run(['userdel', user]);
    },
  }),
);

/** `user`'s login shell is `shell` (an absolute path). */
export const hasLoginShell = withParams<[user: Arg, shell: Arg]>()(
  defprop({
    name: 'user.hasLoginShell',
    desc: (user, shell) => `${user}'s login shell is ${shell}`,
    args: z.tuple([userName, absolutePath]),
    argNames: ['user', 'shell'],
    check: async (ctx, user, shell) => {
      const changes = changesOf(await checkLines(ctx, '/etc/shells', listShell(shell)));
      const current = (await entryOrFail(ctx, user)).shell;
      if (current !== shell)
        changes.push({
          path: '/etc/passwd',
          before: `${user}: ${current}`,
          after: `${user}: ${shell}`,
          kind: 'metadata',
        });
      return checkResult(changes);
    },
    apply: async (ctx, user, shell) => {
      if (!(await ctx.stat(shell)).exists) ctx.fail(`${shell} does not exist on ${ctx.hostname}`);
      await rewriteLines(ctx, '/etc/shells', listShell(shell));
      await ctx.run(['usermod', '-s', shell, user]);
    },
  }),
);

async function memberOf(ctx: PropertyContext, user: string): Promise<string[]> {
  await entryOrFail(ctx, user);
  const r = await ctx.run(['id', '-nG', user], { readOnly: true });
  return r.stdout.trim().split(/\s+/);
}

/** `user` is in each of `groups` (added; other memberships kept). */
export const inGroups = withParams<[user: Arg, ...groups: Arg[]]>()(
  defprop({
    name: 'user.inGroups',
    desc: (user, ...gs) => `${user} is in ${gs.join(', ')}`,
    args: z.tuple([userName]).rest(userName) as unknown as z.ZodType<
      [string, ...string[]],
      z.ZodTypeDef,
      [string, ...string[]]
    >,
    argNames: ['user', 'groups'],
    check: async (ctx, user, ...gs) => {
      const have = await memberOf(ctx, user);
      const missing = gs.filter((g) => !have.includes(g));
      if (missing.length === 0) return true;
      const before = `${user} in ${have.join(', ')}`;
      const after = `${user} also in ${missing.join(', ')}`;
      return { applied: false, changes: [{ path: '/etc/group', before, after, kind: 'metadata' }] };
    },
    apply: async (ctx, user, ...gs) => {
      const have = await memberOf(ctx, user);
      await ctx.run(['usermod', '-aG', gs.filter((g) => !have.includes(g)).join(','), user]);
    },
  }),
);

/** `user`'s home directory exists, owned by the user. */
export const hasHome = withParams<[user: Arg]>()(
  defprop({
    name: 'user.hasHome',
    desc: (user) => `${user} has a home directory`,
    args: z.tuple([userName]),
    argNames: ['user'],
    check: async (ctx, user) => {
      const e = await entryOrFail(ctx, user);
      const info = await ctx.stat(e.home);
      if (info.exists && info.type === 'directory' && info.uid === e.uid) return true;
      const before = !info.exists
        ? 'absent'
        : info.type === 'directory'
          ? `directory owned by ${info.user ?? info.uid}`
          : (info.type ?? 'file');
      const after = `directory owned by ${user}`;
      return { applied: false, changes: [{ path: e.home, before, after, kind: 'metadata' }] };
    },
    apply: async (ctx, user) => {
      const e = await entryOrFail(ctx, user);
      await ctx.run(['mkdir', '-p', e.home], { affects: [e.home] });
      await ctx.run(['chown', `${e.uid}:${e.gid}`, e.home], { affects: [e.home] });
      await ctx.run(['chmod', '0755', e.home], { affects: [e.home] });
    },
  }),
);
