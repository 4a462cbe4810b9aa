/**
 * git: a repository cloned at a revision (kept there: a later deploy fetches and moves
 * to what the revision names then), and /etc committed the way etckeeper keeps it.
 * git runs on the target (install it: `apt.installed('git')`).
 */
import { defprop, mayHaveTouched, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { absolutePath } from './schemas.js';
import { userName } from './user-ids.js';

const url = z
  .string()
  .min(1, 'must not be empty')
  .refine((u) => !u.startsWith('-') && !/\s/.test(u), { message: 'must be a repository URL or path' });
const rev = z.string().regex(/^[A-Za-z0-9._/@^~-]+$/, 'must be a branch, tag or commit');
const cloneOptions = z.object({ rev: rev.optional(), user: userName.optional() }).strict().optional();

/** argv as the user named (runuser from root), else as the connection's user. */
const as = (user: string | undefined, argv: string[]) => (user ? ['runuser', '-u', user, '--', ...argv] : argv);

async function git(ctx: PropertyContext, user: string | undefined, dir: string, ...args: string[]) {
  return ctx.run(as(user, ['git', '-C', dir, ...args]), { readOnly: true, allowFailure: true, env: { LC_ALL: 'C' } });
}

/** The commit `revision` names at `url` now (ls-remote), or the revision when it is a full commit id. */
async function wantedCommit(ctx: PropertyContext, user: string | undefined, repo: string, revision: string) {
  if (/^[0-9a-f]{40}$/.test(revision)) return revision;
  const r = await ctx.run(as(user, ['git', 'ls-remote', '--', repo, revision, `${revision}^{}`]), {
    readOnly: true,
    allowFailure: true,
  });
  if (r.exitCode !== 0) ctx.fail(`git ls-remote ${repo} failed: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  // An annotated tag's own object is not a commit: its peeled line (^{}) is.
  const line = lines.find((l) => l.endsWith('^{}')) ?? lines[0];
  return line?.split(/\s+/)[0] ?? ctx.fail(`${repo} has no ${revision}`);
}

/** `dir` is a clone of the repository at `url` (at `options.rev` when given, as `options.user`). */
export const cloned = withParams<[url: Arg, dir: Arg, options?: Arg]>()(
  defprop({
    name: 'git.cloned',
    desc: (repo, dir, o) => `${dir} is a clone of ${repo}${o?.rev ? ` at ${o.rev}` : ''}`,
    args: z.tuple([url, absolutePath, cloneOptions]),
    argNames: ['url', 'dir', 'options'],
    prefetch: (_repo, dir) => [{ path: `${dir}/.git` }, { path: dir }],
    check: async (ctx, repo, dir, o) => {
      if (!(await ctx.stat(`${dir}/.git`)).exists) {
        return {
          applied: false,
          changes: [{ path: dir, before: 'no repository', after: `a clone of ${repo}`, kind: 'metadata' }],
        };
      }
      const remote = await git(ctx, o?.user, dir, 'remote', 'get-url', 'origin');
      if (remote.exitCode !== 0)
        ctx.fail(`git in ${dir} failed: ${remote.stderr.trim() || `exit code ${remote.exitCode}`}`);
      const origin = remote.stdout.trim();
      if (origin !== repo) ctx.fail(`${dir} is a clone of ${origin}, not ${repo}`);
      const head = (await git(ctx, o?.user, dir, 'rev-parse', 'HEAD')).stdout.trim();
      const want = await wantedCommit(ctx, o?.user, repo, o?.rev ?? 'HEAD');
      if (head === want) return true;
      return {
        applied: false,
        changes: [{ path: dir, before: `at ${head.slice(0, 12)}`, after: `at ${want.slice(0, 12)}`, kind: 'metadata' }],
      };
    },
    apply: async (ctx, repo, dir, o) => {
      const info = await ctx.stat(dir);
      if (!(await ctx.stat(`${dir}/.git`)).exists) {
        if (
          info.exists &&
          (info.type !== 'directory' || (await ctx.run(['ls', '-A', '--', dir], { readOnly: true })).stdout !== '')
        ) {
          ctx.fail(`${dir} exists and is not an empty directory: not cloning over it`);
        }
        if (!info.exists && o?.user) {
          await ctx.run(['install', '-d', '-o', o.user, '--', dir], { affects: [dir] });
        }
        await ctx.run(as(o?.user, ['git', 'clone', '--quiet', '--', repo, dir]), { affects: [dir] });
      } else {
        await ctx.run(as(o?.user, ['git', '-C', dir, 'fetch', '--quiet', '--tags', 'origin']), { affects: [dir] });
      }
      const want = await wantedCommit(ctx, o?.user, repo, o?.rev ?? 'HEAD');
      // Detached at the commit: what was asked for, whatever branches say later.
      await ctx.run(as(o?.user, ['git', '-C', dir, 'checkout', '--quiet', '--detach', want]), { affects: [dir] });
    },
    unapply: async (ctx, _repo, dir) => {
      await ctx.run(['rm', '-rf', '--', dir], { affects: [dir] });
    },
  }),
);

/**
 * /etc is a git repository with everything in it committed (as etckeeper keeps it): put
 * it last in a host's properties to record what the deploy did. Files git should not
 * hold (shadow and the like) are kept out by /etc/.gitignore, which this writes when
 * there is none.
 */
export const etcCommitted = withParams<[options?: Arg]>()(
  defprop({
    name: 'git.etcCommitted',
    desc: '/etc committed',
    args: z.tuple([
      z
        .object({ message: z.string().min(1).optional() })
        .strict()
        .optional(),
    ]),
    argNames: ['options'],
    prefetch: () => [{ path: '/etc/.git' }, { path: '/etc/.gitignore' }],
    check: async (ctx) => {
      if (!(await ctx.stat('/etc/.git')).exists) return false;
      const r = await git(ctx, undefined, '/etc', 'status', '--porcelain');
      if (r.exitCode !== 0) ctx.fail(`git status in /etc failed: ${r.stderr.trim()}`);
      if (r.stdout !== '') return false;
      // In a dry run the changes of the properties before it are not in /etc yet.
      return !(ctx.dryRun && mayHaveTouched(ctx.earlierChanges(), (path) => path.startsWith('/etc/')));
    },
    apply: async (ctx, o) => {
      if (!(await ctx.stat('/etc/.git')).exists) {
        await ctx.run(['git', 'init', '--quiet', '/etc'], { affects: ['/etc/.git'] });
        await ctx.run(['chmod', '0700', '/etc/.git'], { affects: ['/etc/.git'] });
      }
      if (!(await ctx.stat('/etc/.gitignore')).exists) {
        await ctx.writeFile(
          '/etc/.gitignore',
          [
            'shadow',
            'shadow-',
            'gshadow',
            'gshadow-',
            '*.key',
            'ssh/ssh_host_*_key',
            'ld.so.cache',
            'adjtime',
            '*~',
            '',
          ].join('\n'),
          { mode: 0o644 },
        );
      }
      const identity = ['-c', 'user.name=consfig', '-c', `user.email=root@${ctx.hostname}`];
      await ctx.run(['git', '-C', '/etc', 'add', '-A'], { affects: ['/etc/.git'] });
      await ctx.run(
        ['git', ...identity, '-C', '/etc', 'commit', '--quiet', '-m', o?.message ?? `consfig deployed ${ctx.hostname}`],
        {
          affects: ['/etc/.git'],
        },
      );
    },
  }),
);
