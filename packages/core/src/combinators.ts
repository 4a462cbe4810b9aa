/**
 * Combinators: propapps made of other propapps. They do their work through
 * `ctx.apply` / `ctx.unapply`, so every child is announced, checked and reported by the
 * engine like any other property.
 */
import { posix } from 'node:path';
import { InvalidHostError, isConsfigError } from './errors.js';
import { parseHop } from './hop-registry.js';
import type { HostattrKey } from './hostattrs.js';
import { isPropapp, PROPAPP, type FileChange, type Outcome, type Propapp, type PropertyContext } from './property.js';

/** What a property list holds: applications, nested lists, and false/null/undefined (skipped). */
export type PropSpec = Propapp | readonly PropSpec[] | null | undefined | false;
type Spec = PropSpec;

/** Flatten nested arrays and drop null/undefined/false, so `cond && prop` works in lists. */
export function flattenProps(specs: readonly Spec[], where = 'property list'): Propapp[] {
  const out: Propapp[] = [];
  const visit = (spec: Spec, index: number) => {
    if (spec === null || spec === undefined || spec === false) return;
    if (Array.isArray(spec)) {
      spec.forEach((s, i) => visit(s as Spec, i));
      return;
    }
    if (!isPropapp(spec)) {
      const what =
        typeof spec === 'function'
          ? `the function ${(spec as { name?: string }).name || '(anonymous)'} ` +
            '(a property that was not called? write it with parentheses)'
          : (JSON.stringify(spec) ?? String(spec));
      throw new InvalidHostError(`${where}: element ${index + 1} is not a property application: ${what}`);
    }
    out.push(spec);
  };
  specs.forEach((s, i) => visit(s, i));
  return out;
}

/** A combinator node (not announced itself unless asked): the engine runs its steps. */
export function node(
  fields: Omit<Propapp, typeof PROPAPP | 'args' | 'announce' | 'combinator'> & {
    args?: readonly unknown[];
    announce?: boolean;
  },
): Propapp {
  return Object.freeze({ [PROPAPP]: true as const, args: [], announce: false, combinator: true, ...fields });
}

/** Outcomes in sequence as one: changed where any changed, with all their changes. */
export function merge(outcomes: Outcome[]): Outcome {
  const changes: FileChange[] = outcomes.flatMap((o) => o.changes ?? []);
  const result = outcomes.some((o) => o.result === 'changed') ? 'changed' : 'unchanged';
  return changes.length > 0 ? { result, changes } : { result };
}

async function runSequence(
  ctx: PropertyContext,
  children: readonly Propapp[],
  direction: 'apply' | 'unapply',
  goOn: boolean,
): Promise<Outcome> {
  const ordered = direction === 'apply' ? children : [...children].reverse();
  const outcomes: Outcome[] = [];
  for (const child of ordered) {
    try {
      outcomes.push(await (direction === 'apply' ? ctx.apply(child) : ctx.unapply(child)));
    } catch (error) {
      // The engine has already reported the child's failure.
      if (!goOn || !isConsfigError(error)) throw error;
      outcomes.push({ result: 'changed' });
    }
  }
  return merge(outcomes);
}

/**
 * Apply every element in order; an element that fails is reported and skipped, and
 * the rest still run. A host's own property list is one of these.
 */
export function seq(...props: Spec[]): Propapp {
  const children = flattenProps(props, 'seq');
  return node({
    name: 'seq',
    desc: 'sequence',
    children,
    apply: (ctx) => runSequence(ctx, children, 'apply', true),
    unapply: (ctx) => runSequence(ctx, children, 'unapply', true),
  });
}

/**
 * Apply in order and stop at the first failure, which fails the whole sequence: each
 * element may rely on the ones before it. Unapplying goes in reverse.
 */
export function eseq(...props: Spec[]): Propapp {
  const children = flattenProps(props, 'eseq');
  return node({
    name: 'eseq',
    desc: 'sequence',
    children,
    apply: (ctx) => runSequence(ctx, children, 'apply', false),
    unapply: (ctx) => runSequence(ctx, children, 'unapply', false),
  });
}

function one(props: Spec[], where: string): Propapp {
  const list = flattenProps(props, where);
  return list.length === 1 ? list[0]! : eseq(...list);
}

/** When applying (or unapplying) `prop` changes something, apply `then` as an eseq. */
export function onChange(prop: Propapp, ...then: Spec[]): Propapp {
  const [first] = flattenProps([prop], 'onChange');
  const after = eseq(...then);
  const run = async (ctx: PropertyContext, direction: 'apply' | 'unapply') => {
    const outcome = direction === 'apply' ? await ctx.apply(first!) : await ctx.unapply(first!);
    if (outcome.result === 'changed') {
      const followUp = await ctx.apply(after);
      return merge([outcome, followUp]);
    }
    ctx.passOver(after);
    return outcome;
  };
  return node({
    name: 'onChange',
    desc: first!.desc,
    children: [first!, after],
    apply: (ctx) => run(ctx, 'apply'),
    unapply: (ctx) => run(ctx, 'unapply'),
  });
}

/** Unapply instead of apply (and the other way round). */
export function unapply(...props: Spec[]): Propapp {
  const inner = one(props, 'unapply');
  return node({
    name: 'unapply',
    desc: `Unapplied: ${inner.desc}`,
    children: [inner],
    announce: false,
    isolateChildHostattrs: true,
    apply: (ctx) => ctx.unapply(inner),
    unapply: (ctx) => ctx.apply(inner),
  });
}

/** Give `prop` (or a sequence) a description of its own. */
export function desc(text: string, ...props: Spec[]): Propapp {
  const inner = one(props, 'desc');
  return node({
    name: 'desc',
    desc: text,
    announce: true,
    children: [inner],
    apply: (ctx) => ctx.apply(inner),
    unapply: (ctx) => ctx.unapply(inner),
  });
}

/**
 * Apply `props` as another user on the same target, through one more hop (runuser
 * when the connection is root, sudo otherwise: @consfig/connections' hops, by their
 * registered kinds) opened once per deployment.
 */
export function asUser(user: string, ...props: Spec[]): Propapp {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(user)) {
    throw new InvalidHostError(`asUser: ${JSON.stringify(user)} is not a user name`);
  }
  const inner = eseq(...props);
  const reconnect = async (ctx: PropertyContext) => {
    if (user === 'root' && ctx.uid === 0) return ctx;
    const conn = await ctx.extendConnection(`user:${user}`, (c) =>
      c.extend(parseHop(`${c.uid === 0 ? 'runuser' : 'sudo'}:${user}`)!),
    );
    return ctx.withConnection(conn);
  };
  return node({
    name: 'asUser',
    desc: `As ${user}`,
    args: [user],
    children: [inner],
    apply: async (ctx) => (await reconnect(ctx)).apply(inner),
    unapply: async (ctx) => (await reconnect(ctx)).unapply(inner),
  });
}

/**
 * While `path` exists the properties count as applied; after applying them the flag
 * file is created, and unapplying removes it.
 */
export function withFlagfile(path: string, ...props: Spec[]): Propapp {
  if (!path.startsWith('/')) throw new InvalidHostError(`withFlagfile: ${path} is not an absolute path`);
  const inner = eseq(...props);
  return node({
    name: 'withFlagfile',
    desc: `Flag file ${path}`,
    args: [path],
    children: [inner],
    prefetch: () => [{ path }],
    check: async (ctx) => (await ctx.stat(path)).exists,
    apply: async (ctx) => {
      const outcome = await ctx.apply(inner);
      if (!ctx.dryRun) {
        await ctx.run(['mkdir', '-p', posix.dirname(path)]);
        await ctx.writeFile(path, '');
      }
      return outcome;
    },
    unapply: async (ctx) => {
      const outcome = await ctx.unapply(inner);
      if (!ctx.dryRun) await ctx.run(['rm', '-f', path]);
      return outcome;
    },
  });
}

/** A property that only pushes hostattrs (Consfigurator's has-hostattrs). */
export function hasAttr<T>(key: HostattrKey<T>, ...values: T[]): Propapp {
  return node({
    name: 'hasAttr',
    desc: `${key.name}: ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    args: values,
    children: [],
    hostattrs: (h) => h.push(key, ...values),
  });
}
