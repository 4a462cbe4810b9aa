/**
 * cmd: run a command. It always counts as a change, unless `unless` is given: a
 * command whose success means the work is already done.
 */
import { defprop, formatArgv, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { absolutePath, argv } from './schemas.js';

const options = z
  .object({
    unless: argv.optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: absolutePath.optional(),
    input: z.string().optional(),
  })
  .strict();

/**
 * Runs `argv` (no shell) on every deploy, or only when the command `options.unless` fails;
 * options also give env, cwd and stdin input.
 */
export const single = withParams<[argv: Arg, options?: Arg]>()(
  defprop({
    name: 'cmd.single',
    desc: (command) => `Command ${formatArgv(command)}`,
    args: z.tuple([argv, options.optional()]),
    argNames: ['argv', 'options'],
    check: async (ctx, _command, opts = {}) => {
      if (!opts.unless) return false;
      return ctx.test(opts.unless, { ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    },
    apply: async (ctx, command, opts = {}) => {
      await ctx.run(command, {
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      });
    },
  }),
);
