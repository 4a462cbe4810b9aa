/**
 * cron: jobs in /etc/cron.d, and entries in a user's crontab kept between marker lines
 * so that the rest of it, the user's own, is left alone. Both need cron installed
 * (`apt.installed('cron')`); a user crontab goes through crontab(1), which keeps its
 * owner, mode and the daemon informed.
 */
import { defprop, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { fileMode } from './schemas.js';
import { change, joinLines, splitLines } from './text-file.js';
import { userName } from './user-ids.js';

// run-parts, and so cron, ignores names with dots in /etc/cron.d.
const jobName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ and - (cron ignores other names)');
const FIELD = /^(\*|[0-9A-Za-z,/*-]+)$/;
const schedule = z
  .string()
  .refine((s) => /^@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(s) || isFiveFields(s), {
    message: "must be five fields ('*/5 * * * *') or @reboot, @hourly, @daily, @weekly, @monthly, @yearly",
  });
const oneLine = z
  .string()
  .min(1, 'must not be empty')
  .refine((c) => !c.includes('\n'), 'must be one line');

function isFiveFields(s: string): boolean {
  const f = s.trim().split(/\s+/);
  return f.length === 5 && f.every((x) => FIELD.test(x));
}

const jobOptions = z
  .object({
    schedule,
    command: oneLine,
    user: userName.default('root'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name'), oneLine).default({}),
    mode: fileMode.optional(),
  })
  .strict();

function jobText(name: string, o: z.output<typeof jobOptions>): string {
  const env = Object.entries({
    SHELL: '/bin/sh',
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...o.env,
  });
  return joinLines([
    `# Written by consfig: ${name}`,
    ...env.map(([k, v]) => `${k}=${v}`),
    '',
    `${o.schedule} ${o.user} ${o.command}`,
  ]);
}

/** /etc/cron.d/NAME runs `command` as `user` (root) on `schedule`. */
export const systemJob = withParams<[name: Arg, options: Arg]>()(
  defprop({
    name: 'cron.systemJob',
    desc: (name) => `cron job ${name}`,
    args: z.tuple([jobName, jobOptions]),
    argNames: ['name', 'options'],
    prefetch: (name) => [{ path: `/etc/cron.d/${name}`, content: true }],
    check: async (ctx, name, o) => {
      const path = `/etc/cron.d/${name}`;
      const info = await ctx.stat(path);
      const old = info.exists && info.type === 'file' ? await ctx.readFile(path) : null;
      const want = Buffer.from(jobText(name, o));
      const mode = o.mode ?? 0o644;
      if (old?.equals(want) && info.mode === mode) return true;
      return { applied: false, changes: [change(path, old, want)] };
    },
    apply: async (ctx, name, o) => {
      await ctx.writeFile(`/etc/cron.d/${name}`, jobText(name, o), {
        mode: o.mode ?? 0o644,
        owner: 'root',
        group: 'root',
      });
    },
    unapply: async (ctx, name) => {
      await ctx.run(['rm', '-f', '--', `/etc/cron.d/${name}`], { affects: ['/etc/cron.d'] });
    },
  }),
);

const markerName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _, . and -');
const entries = z
  .union([oneLine, z.array(oneLine)], { errorMap: () => ({ message: 'must be a crontab line or an array of them' }) })
  .transform((e) => (typeof e === 'string' ? [e] : e));

const begin = (marker: string) => `# BEGIN consfig ${marker}`;
const end = (marker: string) => `# END consfig ${marker}`;

/** The crontab's lines with the marked block set to `lines` (removed when there are none). */
export function withBlock(old: readonly string[], marker: string, lines: readonly string[]): string[] {
  const from = old.indexOf(begin(marker));
  const to = from === -1 ? -1 : old.indexOf(end(marker), from);
  const block = lines.length === 0 ? [] : [begin(marker), ...lines, end(marker)];
  if (from === -1 || to === -1) return lines.length === 0 ? [...old] : [...old, ...block];
  return [...old.slice(0, from), ...block, ...old.slice(to + 1)];
}

async function crontabOf(ctx: PropertyContext, user: string): Promise<string | null> {
  const r = await ctx.run(['crontab', '-u', user, '-l'], { readOnly: true, allowFailure: true });
  if (r.exitCode === 0) return r.stdout;
  if (/no crontab for/.test(r.stderr)) return null;
  return ctx.missing(
    `crontab -u ${user} -l failed: ${r.stderr.trim() || `exit code ${r.exitCode}`} (is cron installed?)`,
  );
}

async function edit(ctx: PropertyContext, user: string, marker: string, lines: readonly string[], apply: boolean) {
  const old = await crontabOf(ctx, user);
  const after = joinLines(withBlock(splitLines(old ?? ''), marker, lines));
  if ((old ?? '') === after) return { applied: true as const };
  const path = `crontab of ${user}`;
  const changes = [change(path, old === null ? null : Buffer.from(old), Buffer.from(after))];
  if (apply) await ctx.run(['crontab', '-u', user, '-'], { input: after, affects: ['/var/spool/cron'] });
  return { applied: false as const, changes };
}

/**
 * `user`'s crontab holds `entries` between `# BEGIN consfig MARKER` and `# END consfig
 * MARKER` lines (MARKER defaults to `consfig`); lines outside them are the user's.
 */
export const userCrontab = withParams<[user: Arg, entries: Arg, options?: Arg]>()(
  defprop({
    name: 'cron.userCrontab',
    desc: (user, _entries, o) => `${user}'s crontab has the ${o?.marker ?? 'consfig'} entries`,
    args: z.tuple([
      userName,
      entries,
      z
        .object({ marker: markerName.default('consfig') })
        .strict()
        .optional(),
    ]),
    argNames: ['user', 'entries', 'options'],
    check: async (ctx, user, lines, o) => {
      const r = await edit(ctx, user, o?.marker ?? 'consfig', lines, false);
      return r.applied ? true : r;
    },
    apply: async (ctx, user, lines, o) => {
      const r = await edit(ctx, user, o?.marker ?? 'consfig', lines, true);
      return r.applied ? 'unchanged' : { result: 'changed', changes: r.changes };
    },
    unapply: async (ctx, user, _lines, o) => {
      const r = await edit(ctx, user, o?.marker ?? 'consfig', [], true);
      return r.applied ? 'unchanged' : { result: 'changed', changes: r.changes };
    },
  }),
);
