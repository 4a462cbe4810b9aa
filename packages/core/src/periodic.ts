/**
 * Properties applied at most once a period (Consfigurator's periodic:at-most): for what
 * always reports a change (a command) or costs much to check. Each keeps a record on the
 * target, named by its description, of when it was last applied: root's under
 * /var/lib/consfig/at-most, another user's under ~/.cache/consfig/at-most.
 */
import { posix } from 'node:path';
import { eseq, merge, node, type PropSpec } from './combinators.js';
import { sha256Hex } from './digest.js';
import { InvalidHostError } from './errors.js';
import type { Outcome, Propapp, PropertyContext } from './property.js';

/** How often: a named period, a number of seconds, or once per boot of the target's kernel. */
export type Period = 'eachReboot' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | number;

const SECONDS: Record<Exclude<Period, number | 'eachReboot'>, number> = {
  hourly: 3600,
  daily: 86_400,
  weekly: 7 * 86_400,
  monthly: 30 * 86_400,
  yearly: 365.25 * 86_400,
};

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function checkPeriod(combinator: string, period: Period, desc: string): void {
  const ok =
    period === 'eachReboot' ||
    (typeof period === 'number' ? Number.isFinite(period) && period > 0 : Object.hasOwn(SECONDS, period));
  if (!ok) {
    throw new InvalidHostError(
      `${combinator}(${JSON.stringify(period)}, ${JSON.stringify(desc)}): the period must be eachReboot, hourly, ` +
        'daily, weekly, monthly, yearly or a number of seconds',
    );
  }
  if (desc.trim() === '') throw new InvalidHostError(`${combinator}: the description must not be empty`);
}

/** The record's name: the description, made a file name (hashed where it would be too long). */
function recordName(desc: string): string {
  const name = encodeURIComponent(desc).replace(/^\./, '%2E');
  return name.length <= 200 ? name : sha256Hex(desc);
}

async function recordPath(ctx: PropertyContext, desc: string): Promise<string> {
  if (ctx.uid === 0) return `/var/lib/consfig/at-most/${recordName(desc)}`;
  const home = await ctx.memo(
    'consfig.home',
    async () => (await ctx.run(['sh', '-c', 'printf %s "$HOME"'], { readOnly: true })).stdout,
  );
  if (!home.startsWith('/')) ctx.fail(`the user on ${ctx.hostname} has no home to keep at-most records in`);
  return `${home}/.cache/consfig/at-most/${recordName(desc)}`;
}

/** This boot's id on the target, where the period is eachReboot (the record keeps it). */
async function bootId(ctx: PropertyContext, period: Period): Promise<string> {
  return period === 'eachReboot' ? (await ctx.readFile(BOOT_ID)).toString('utf8').trim() : '-';
}

/** Whether the period has passed since the record's time (seconds, this machine's clock) or boot. */
async function due(ctx: PropertyContext, period: Period, path: string): Promise<boolean> {
  await ctx.probe([{ path, content: true }]); // read with its metadata, in one round trip
  const record = await ctx.readFileIfExists(path);
  const [time, boot] = (record?.toString('utf8') ?? '').trim().split(' ');
  if (record === null || !/^\d+$/.test(time ?? '')) return true;
  if (period === 'eachReboot') return boot !== (await bootId(ctx, period));
  const seconds = typeof period === 'number' ? period : SECONDS[period];
  return Date.now() / 1000 - Number(time) >= seconds;
}

async function record(ctx: PropertyContext, period: Period, path: string): Promise<void> {
  if (ctx.dryRun) return;
  await ctx.run(['mkdir', '-p', posix.dirname(path)]);
  await ctx.writeFile(path, `${Math.floor(Date.now() / 1000)} ${await bootId(ctx, period)}\n`);
}

/** Unapplying: `inner` unapplied, and its record removed (the next deploy applies it). */
function unapplyAndForget(inner: Propapp, desc: string) {
  return async (ctx: PropertyContext): Promise<Outcome> => {
    const outcome = await ctx.unapply(inner);
    if (!ctx.dryRun) await ctx.run(['rm', '-f', '--', await recordPath(ctx, desc)]);
    return outcome;
  };
}

/** A periodic combinator: `props` as one eseq (`inner`), under a node with its steps. */
function periodic(
  name: string,
  period: Period,
  desc: string,
  props: PropSpec[],
  steps: (inner: Propapp) => Pick<Propapp, 'check' | 'apply'>,
): Propapp {
  checkPeriod(name, period, desc);
  const inner = eseq(...props);
  return node({
    name,
    desc,
    announce: true,
    args: [period, desc],
    children: [inner],
    ...steps(inner),
    unapply: unapplyAndForget(inner, desc),
  });
}

/**
 * Apply `props` (in order, stopping at a failure) at most once per `period`: until it has
 * passed since they were last applied, they count as applied without being checked. The
 * description names them in output and names the record, so it must be unique on the
 * host. Periods count by this machine's clock; `eachReboot` by the target's boot.
 */
export function atMost(period: Period, desc: string, ...props: PropSpec[]): Propapp {
  return periodic('atMost', period, desc, props, (inner) => ({
    check: async (ctx) => !(await due(ctx, period, await recordPath(ctx, desc))),
    apply: async (ctx): Promise<Outcome> => {
      const outcome = await ctx.apply(inner);
      await record(ctx, period, await recordPath(ctx, desc));
      return outcome;
    },
  }));
}

/**
 * Apply `props` on every deploy, and once per `period` unapply them first (Consfigurator's
 * reapplied-at-most): for what should be rebuilt now and then, such as a cache.
 */
export function reappliedAtMost(period: Period, desc: string, ...props: PropSpec[]): Propapp {
  return periodic('reappliedAtMost', period, desc, props, (inner) => ({
    apply: async (ctx): Promise<Outcome> => {
      const path = await recordPath(ctx, desc);
      if (!(await due(ctx, period, path))) return ctx.apply(inner);
      const undone = await ctx.unapply(inner);
      const done = await ctx.apply(inner);
      await record(ctx, period, path);
      return merge([undone, done]);
    },
  }));
}
