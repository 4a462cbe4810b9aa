/** file.hasMode, file.hasOwnership: a path's mode or owner, whatever its content. */
import { defprop, type FileInfo, type PropertyContext, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { absolutePath, fileMode, userOrGroup } from './schemas.js';
import { metadataChange, octal } from './text-file.js';

/** A path these properties change must be there; they do not make it. */
async function existing(ctx: PropertyContext, path: string): Promise<FileInfo> {
  const info = await ctx.stat(path);
  if (!info.exists) ctx.fail(`${path} does not exist on ${ctx.hostname}`);
  return info;
}

/** `path` exists and has this mode (a number, such as 0o644); nothing else about it changes. */
export const hasMode = withParams<[path: Arg, mode: Arg]>()(
  defprop({
    name: 'file.hasMode',
    desc: (path, mode) => `${path} has mode ${octal(mode)}`,
    args: z.tuple([absolutePath, fileMode]),
    argNames: ['path', 'mode'],
    prefetch: (path) => [{ path }],
    check: async (ctx, path, mode) => {
      const info = await ctx.stat(path);
      if (info.exists && info.mode === mode) return true;
      return { applied: false, changes: [metadataChange(info, `mode ${octal(mode)}`)] };
    },
    apply: async (ctx, path, mode) => {
      await existing(ctx, path);
      await ctx.run(['chmod', '--', mode.toString(8), path], { affects: [path] });
    },
  }),
);

const ownership = z
  .object({ owner: userOrGroup.optional(), group: userOrGroup.optional() })
  .strict()
  .refine((o) => o.owner !== undefined || o.group !== undefined, { message: 'give owner, group or both' });

const matches = (name: string | undefined, id: number | undefined, want: string | undefined) =>
  want === undefined || name === want || String(id) === want;

/** `path` exists and has this owner and/or group; nothing else about it changes. */
export const hasOwnership = withParams<[path: Arg, ownership: Arg]>()(
  defprop({
    name: 'file.hasOwnership',
    desc: (path, o) => `${path} is owned by ${o.owner ?? ''}${o.group !== undefined ? `:${o.group}` : ''}`,
    args: z.tuple([absolutePath, ownership]),
    argNames: ['path', 'ownership'],
    prefetch: (path) => [{ path }],
    check: async (ctx, path, o) => {
      const info = await ctx.stat(path);
      if (info.exists && matches(info.user, info.uid, o.owner) && matches(info.group, info.gid, o.group)) return true;
      const owner = o.owner ?? info.user ?? String(info.uid ?? '?');
      const group = o.group ?? info.group ?? String(info.gid ?? '?');
      return { applied: false, changes: [metadataChange(info, `owner ${owner}:${group}`)] };
    },
    apply: async (ctx, path, o) => {
      await existing(ctx, path);
      // -h: a link's own owner, never what it points at.
      await ctx.run(['chown', '-h', '--', `${o.owner ?? ''}${o.group !== undefined ? `:${o.group}` : ''}`, path], {
        affects: [path],
      });
    },
  }),
);
