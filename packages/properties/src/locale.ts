/**
 * locale: a locale generated (uncommented in /etc/locale.gen, then locale-gen) and
 * selected in /etc/default/locale. Both install the locales package first.
 */
import { defprop, desc, eseq, type Propapp, type PropertyContext } from '@consfig/core/property';
import { z } from 'zod';
import { installed } from './apt.js';
import { setConfPairs } from './conf-pairs.js';
import { changesOf, checkLines, rewriteLines } from './text-file.js';

const localeName = z
  .string()
  .regex(/^[A-Za-z]{1,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@[a-z]+)?$/, "must be a locale such as 'en_US.UTF-8'");

/** How `locale -a` spells a name: the codeset in lower case without dashes. */
export function normalised(locale: string): string {
  return locale.replace(/\.([A-Za-z0-9-]+)/, (_m, cs: string) => `.${cs.toLowerCase().replace(/-/g, '')}`);
}

/** The /usr/share/i18n/SUPPORTED line for the locale (`en_US.UTF-8 UTF-8`). */
async function supportedLine(ctx: PropertyContext, locale: string): Promise<string> {
  const info = await ctx.stat('/usr/share/i18n/SUPPORTED');
  const text = info.exists ? (await ctx.readFile('/usr/share/i18n/SUPPORTED')).toString('utf8') : '';
  return (
    text.split('\n').find((l) => l.split(/\s+/)[0] === locale) ??
    ctx.fail(`${locale} is not a locale glibc knows (not in /usr/share/i18n/SUPPORTED on ${ctx.hostname})`)
  );
}

const enableLine = (line: string) => (old: string[]) => {
  if (old.includes(line)) return old;
  const commented = old.findIndex((l) => l.replace(/^#\s*/, '') === line);
  return commented === -1 ? [...old, line] : old.map((l, i) => (i === commented ? line : l));
};

async function isGenerated(ctx: PropertyContext, locale: string): Promise<boolean> {
  const r = await ctx.run(['locale', '-a'], { readOnly: true, allowFailure: true });
  return r.stdout.split('\n').includes(normalised(locale));
}

const generated = defprop({
  name: 'locale.generated',
  desc: (locale) => `locale ${locale} is generated`,
  args: z.tuple([localeName]),
  argNames: ['locale'],
  prefetch: () => [
    { path: '/etc/locale.gen', content: true },
    { path: '/usr/share/i18n/SUPPORTED', content: true },
  ],
  check: async (ctx, locale) => {
    // Before the locales package, there is nothing to read: the whole edit is pending.
    if (!(await ctx.stat('/usr/share/i18n/SUPPORTED')).exists) return false;
    const changes = changesOf(await checkLines(ctx, '/etc/locale.gen', enableLine(await supportedLine(ctx, locale))));
    if (changes.length > 0) return { applied: false, changes };
    return isGenerated(ctx, locale);
  },
  apply: async (ctx, locale) => {
    await rewriteLines(ctx, '/etc/locale.gen', enableLine(await supportedLine(ctx, locale)));
    await ctx.run(['locale-gen'], { affects: ['/usr/lib/locale'] });
  },
});

/** The locale is generated and usable (`locale -a` lists it). */
export function available(locale: string): Propapp {
  return desc(`locale ${locale} is available`, eseq(installed('locales'), generated(locale)));
}

const variables = z.array(
  z.enum([
    'LANG',
    'LANGUAGE',
    'LC_ALL',
    'LC_CTYPE',
    'LC_MESSAGES',
    'LC_TIME',
    'LC_NUMERIC',
    'LC_COLLATE',
    'LC_MONETARY',
    'LC_PAPER',
    'LC_ADDRESS',
    'LC_TELEPHONE',
    'LC_MEASUREMENT',
    'LC_NAME',
    'LC_IDENTIFICATION',
  ]),
);

const selectedIn = defprop({
  name: 'locale.selectedIn',
  desc: (locale, vars) => `${vars.join(', ')} = ${locale} in /etc/default/locale`,
  args: z.tuple([localeName, variables.min(1, 'give at least one variable')]),
  argNames: ['locale', 'variables'],
  prefetch: () => [{ path: '/etc/default/locale', content: true }],
  check: (ctx, locale, vars) =>
    checkLines(
      ctx,
      '/etc/default/locale',
      setConfPairs(
        'shell',
        vars.map((v) => [v, locale]),
      ),
    ),
  apply: (ctx, locale, vars) =>
    rewriteLines(
      ctx,
      '/etc/default/locale',
      setConfPairs(
        'shell',
        vars.map((v) => [v, locale]),
      ),
    ),
});

/** The locale is available and the system default for `variables` (LANG unless told). */
export function selected(locale: string, ...variableNames: string[]): Propapp {
  const vars = variableNames.length > 0 ? variableNames : ['LANG'];
  return desc(
    `locale ${locale} is selected`,
    eseq(
      ...(locale === 'C.UTF-8' || locale === 'C' || locale === 'POSIX' ? [] : [available(locale)]),
      selectedIn(locale, vars as never),
    ),
  );
}
