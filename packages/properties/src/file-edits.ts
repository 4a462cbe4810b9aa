/**
 * Line edits of text files: regexReplacedLines, lacksLinesMatching, and the
 * key/value styles of containsConf* (see conf-pairs.ts).
 */
import { defprop, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { setConfPairs, type ConfStyle } from './conf-pairs.js';
import { absolutePath } from './schemas.js';
import { checkLines, rewriteLines } from './text-file.js';

/** A RegExp, or a string compiled as one (no flags). */
const regex = z
  .union([z.instanceof(RegExp), z.string()], { errorMap: () => ({ message: 'must be a RegExp or a string' }) })
  .transform((r, ctx) => {
    if (r instanceof RegExp) return r;
    try {
      return new RegExp(r);
    } catch (error) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `is not a regular expression: ${(error as Error).message}`,
      });
      return z.NEVER;
    }
  });

/** `re.test` without the state a /g or /y RegExp keeps between calls. */
const matches = (re: RegExp, line: string) => new RegExp(re.source, re.flags.replace(/[gy]/g, '')).test(line);

const replaced = (re: RegExp, replacement: string) => (old: string[]) =>
  old.map((line) => (matches(re, line) ? line.replace(re, replacement) : line));

/** Each line matching the regex gets what `String.replace(regex, replacement)` makes of it. */
export const regexReplacedLines = withParams<[path: Arg, regex: Arg, replacement: Arg]>()(
  defprop({
    name: 'file.regexReplacedLines',
    desc: (path, re) => `${path} has lines matching ${String(re)} replaced`,
    args: z.tuple([
      absolutePath,
      regex,
      z.string({ invalid_type_error: 'must be a string ($1, $& refer to the match)' }),
    ]),
    argNames: ['path', 'regex', 'replacement'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, re, replacement) => checkLines(ctx, path, replaced(re, replacement)),
    apply: (ctx, path, re, replacement) => rewriteLines(ctx, path, replaced(re, replacement)),
  }),
);

const dropMatching = (res: readonly RegExp[]) => (old: string[]) =>
  old.filter((line) => !res.some((re) => matches(re, line)));

/** No line matches any of the regexes (those that did are removed). */
export const lacksLinesMatching = withParams<[path: Arg, ...regexes: Arg[]]>()(
  defprop({
    name: 'file.lacksLinesMatching',
    desc: (path, ...res) => `${path} lacks lines matching ${res.map(String).join(', ')}`,
    args: z
      .tuple([absolutePath])
      .rest(regex)
      .refine((a) => a.length > 1, { message: 'give at least one regex', path: [1] }) as unknown as z.ZodType<
      [string, ...RegExp[]],
      z.ZodTypeDef,
      [string, ...(RegExp | string)[]]
    >,
    argNames: ['path', 'regex'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, ...res) => checkLines(ctx, path, dropMatching(res)),
    apply: (ctx, path, ...res) => rewriteLines(ctx, path, dropMatching(res)),
  }),
);

const key = z
  .string()
  .min(1, 'keys must not be empty')
  .refine((k) => !/[\s=#]/.test(k), { message: 'keys have no spaces, = or #' });
const pairs = z
  .union([z.record(z.string()), z.array(z.tuple([z.string(), z.string()]))], {
    errorMap: () => ({ message: 'must be { key: value, ... } or [[key, value], ...]' }),
  })
  .transform((p) => (Array.isArray(p) ? p : Object.entries(p)))
  .superRefine((p, ctx) => {
    if (p.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give at least one key' });
    for (const [k, v] of p) {
      const bad = key.safeParse(k);
      if (!bad.success) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: bad.error.issues[0]!.message });
      if (v.includes('\n')) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: 'values are one line' });
    }
  });

function containsConf(style: ConfStyle, name: string, example: string) {
  return defprop({
    name: `file.${name}`,
    desc: (path) => `${path} sets ${example}`,
    args: z.tuple([absolutePath, pairs]),
    argNames: ['path', 'pairs'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, p) => checkLines(ctx, path, setConfPairs(style, p)),
    apply: (ctx, path, p) => rewriteLines(ctx, path, setConfPairs(style, p)),
  });
}

/**
 * Set keys in a key/value file: the first line setting a key, live or commented out,
 * is set; later live ones are commented out; missing keys are appended. Styles:
 * `key value` (Space), `key<TAB>value` (Tab), `key = value` (Equals), `key=value`
 * (Unspaced), and `key=value` with the value quoted for sh where it needs it (Shell).
 */
export const containsConfSpace = withParams<[path: Arg, pairs: Arg]>()(
  containsConf('space', 'containsConfSpace', 'key value'),
);
/** `path` sets each key as `key<TAB>value`. */
export const containsConfTab = withParams<[path: Arg, pairs: Arg]>()(
  containsConf('tab', 'containsConfTab', 'key<TAB>value'),
);
/** `path` sets each key as `key = value` (replacing a line that sets it, else appending). */
export const containsConfEquals = withParams<[path: Arg, pairs: Arg]>()(
  containsConf('equals', 'containsConfEquals', 'key = value'),
);
/** `path` sets each key as `key=value`. */
export const containsConfUnspaced = withParams<[path: Arg, pairs: Arg]>()(
  containsConf('unspaced', 'containsConfUnspaced', 'key=value'),
);
/** `path` sets each variable as a shell assignment `KEY="value"` (quoted as needed). */
export const containsConfShell = withParams<[path: Arg, pairs: Arg]>()(
  containsConf('shell', 'containsConfShell', 'shell variables'),
);
