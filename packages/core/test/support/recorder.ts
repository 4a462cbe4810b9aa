/** Test properties that record what the engine does with them (pure logic, real agent). */
import { z } from 'zod';
import { defprop, type Result } from '../../src/public/property.js';

export interface Log {
  entries: string[];
}

export function recorder(log: Log) {
  const prop = defprop({
    name: 'test.step',
    desc: (name: string) => `step ${name}`,
    args: z.tuple([
      z.string(),
      z
        .object({
          applied: z.boolean().optional(),
          result: z.enum(['changed', 'unchanged']).optional(),
          fail: z.boolean().optional(),
        })
        .optional(),
    ]),
    check: async (_ctx, name, opts = {}) => {
      log.entries.push(`check ${name}`);
      return opts.applied ?? false;
    },
    apply: async (ctx, name, opts = {}) => {
      log.entries.push(`apply ${name}`);
      if (opts.fail) await ctx.run(['sh', '-c', `echo "broke ${name}" >&2; exit 7`]);
      return (opts.result ?? 'changed') as Result;
    },
    unapply: async (_ctx, name) => {
      log.entries.push(`unapply ${name}`);
      return 'changed';
    },
  });
  return prop;
}
