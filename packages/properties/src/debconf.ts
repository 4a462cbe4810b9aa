/**
 * apt.reconfigured: a package's debconf answers set (debconf-set-selections), then the
 * package reconfigured with them (dpkg-reconfigure, non-interactive), as Consfigurator's
 * apt:reconfigured. The check compares what debconf-show says it holds.
 */
import { defprop, withParams, type Arg, type FileChange, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';
import { APT_ENV, debianOnly, missingPackages } from './apt.js';

const CONFIG = '/var/cache/debconf/config.dat';

const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name');
const oneLine = (what: string) => z.string().regex(/^[^\n]*$/, `${what} must be one line`);
const answer = z.tuple([
  z.string().regex(/^[^\s/]+\/\S+$/, 'must be a debconf question such as tzdata/Areas'),
  z.enum(['string', 'boolean', 'select', 'multiselect', 'note', 'text', 'password', 'title', 'error']),
  oneLine('the value'),
]);

/** What debconf holds for `pkg`'s questions (debconf-show: "* question: value"). */
async function held(ctx: PropertyContext, pkg: string): Promise<Map<string, string>> {
  const r = await ctx.run(['debconf-show', pkg], { readOnly: true, env: { LC_ALL: 'C' } });
  const values = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^[* ] ([^:\s]+):(?: (.*))?$/.exec(line);
    if (m) values.set(m[1]!, m[2] ?? '');
  }
  return values;
}

/** `pkg`'s debconf questions have these answers (`[question, type, value]`), and it was reconfigured with them. */
export const reconfigured = withParams<[pkg: Arg, ...answers: Arg[]]>()(
  defprop({
    name: 'apt.reconfigured',
    desc: (pkg, ...answers) =>
      `${pkg} reconfigured: ${answers.map(([q, t, v]) => `${q}=${t === 'password' ? '(password)' : v}`).join(', ')}`,
    args: z.tuple([packageName, answer]).rest(answer) as unknown as z.ZodType<
      [string, ...[string, string, string][]],
      z.ZodTypeDef,
      [string, ...[string, string, string][]]
    >,
    argNames: ['pkg', 'answers'],
    hostattrs: debianOnly('apt.reconfigured'),
    check: async (ctx, pkg, ...answers) => {
      if ((await missingPackages(ctx, [pkg])).length > 0) {
        ctx.missing(`${pkg} is not installed on ${ctx.hostname} (apt.installed first)`, (p) =>
          p.startsWith('/var/lib/dpkg/'),
        );
      }
      const now = await held(ctx, pkg);
      const changes: FileChange[] = answers
        .filter(([question, type, value]) => type !== 'password' && now.get(question) !== value)
        .map(([question, , value]) => ({
          path: CONFIG,
          before: `${question}: ${now.get(question) ?? '(not asked)'}`,
          after: `${question}: ${value}`,
          kind: 'metadata',
        }));
      // A password is never shown by debconf-show: it is set on every deploy, unseen.
      if (answers.some(([, type]) => type === 'password')) return { applied: false, changes };
      return changes.length === 0 || { applied: false, changes };
    },
    apply: async (ctx, pkg, ...answers) => {
      const selections = answers.map(([question, type, value]) => `${pkg} ${question} ${type} ${value}\n`).join('');
      await ctx.run(['debconf-set-selections'], { input: selections, env: APT_ENV, affects: ['/var/cache/debconf'] });
      await ctx.run(['dpkg-reconfigure', '-f', 'noninteractive', pkg], { env: APT_ENV });
    },
  }),
);
