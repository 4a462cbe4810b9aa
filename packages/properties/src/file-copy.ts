/** file.isCopyOf: a file on the target that is a copy of another file there. */
import { posix } from 'node:path';
import { defprop, tempPathFor, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { absolutePath } from './schemas.js';
import { change, ensureParent } from './text-file.js';

/** `dest` has the content of `source`, a file on the same target (copied atomically). */
export const isCopyOf = withParams<[dest: Arg, source: Arg]>()(
  defprop({
    name: 'file.isCopyOf',
    desc: (dest, source) => `${dest} is a copy of ${source}`,
    args: z.tuple([absolutePath, absolutePath]),
    argNames: ['dest', 'source'],
    prefetch: (dest, source) => [
      { path: dest, content: true },
      { path: source, content: true },
      { path: posix.dirname(dest) },
    ],
    check: async (ctx, dest, source) => {
      const from = await ctx.stat(source);
      if (!from.exists || from.type !== 'file') ctx.fail(`${source} is not a file on ${ctx.hostname}`);
      const info = await ctx.stat(dest);
      const want = await ctx.readFile(source);
      const old = info.exists && info.type === 'file' ? await ctx.readFile(dest) : null;
      if (old?.equals(want)) return true;
      return { applied: false, changes: [change(dest, old, want)] };
    },
    apply: async (ctx, dest, source) => {
      const info = await ctx.stat(dest);
      if (info.exists && info.type === 'directory') ctx.fail(`${dest} is a directory`);
      if (!info.exists) await ensureParent(ctx, dest);
      // Copied beside the destination with the source's mode, owner and times, then renamed
      // over it: the content never passes through the controller, and no reader sees half.
      const tmp = tempPathFor(dest);
      await ctx.run(['cp', '-L', '--preserve=all', '--', source, tmp], { affects: [tmp] });
      try {
        await ctx.run(['mv', '-fT', '--', tmp, dest], { affects: [tmp, dest] });
      } catch (error) {
        await ctx.run(['rm', '-f', '--', tmp], { affects: [tmp], allowFailure: true });
        throw error;
      }
    },
    unapply: async (ctx, dest) => {
      await ctx.run(['rm', '-f', '--', dest], { affects: [dest] });
    },
  }),
);
