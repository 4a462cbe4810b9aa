/**
 * file: properties about files, directories and links. Checks read what the engine
 * prefetched in one batch; writes are atomic (temp file, mode, rename). Every check that
 * finds work to do says what would change: the old and new text for content (so
 * `consfig check` shows a diff), type, mode, owner or link target otherwise, and for a
 * secret only that it would change. A symlink at a file's path is replaced, never
 * followed (see text-file.ts).
 */
import { posix } from 'node:path';
import { defprop, type FileChange, type FileInfo, withParams, type Arg } from '@consfig/core/property';
import { z } from 'zod';
import { setIniSettings } from './ini.js';
import {
  change,
  checkLines,
  describeWanted,
  ensureParent,
  joinLines,
  metadataChange,
  ownershipMatches,
  replaceWithSymlink,
  rewriteLines,
  splitLines,
} from './text-file.js';
import { absolutePath, fileOwnership, lines, type FileOwnership } from './schemas.js';

export { hasMode, hasOwnership } from './file-metadata.js';
export { isCopyOf } from './file-copy.js';
export {
  containsConfEquals,
  containsConfShell,
  containsConfSpace,
  containsConfTab,
  containsConfUnspaced,
  lacksLinesMatching,
  regexReplacedLines,
} from './file-edits.js';

const content = z.union([z.string(), z.array(z.string()), z.instanceof(Uint8Array)], {
  errorMap: () => ({ message: 'must be a string, an array of lines or bytes' }),
});

/** Strings and line lists get a trailing newline; bytes are written as they are. */
function toBytes(value: string | string[] | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  const text = Array.isArray(value) ? value.join('\n') : value;
  return Buffer.from(text.endsWith('\n') || text === '' ? text : `${text}\n`, 'utf8');
}

/** `path` is a file holding exactly `content` (text, lines or bytes); with options, also this mode, owner and group. */
export const hasContent = withParams<[path: Arg, content: Arg, options?: Arg]>()(
  defprop({
    name: 'file.hasContent',
    desc: (path) => `${path} has content`,
    args: z.tuple([absolutePath, content, fileOwnership.optional()]),
    argNames: ['path', 'content', 'options'],
    prefetch: (path) => [{ path, content: true }, { path: posix.dirname(path) }],
    check: async (ctx, path, value, options = {}) => {
      const info = await ctx.stat(path);
      const want = toBytes(value);
      const old = info.exists && info.type === 'file' ? await ctx.readFile(path) : null;
      if (old?.equals(want) && ownershipMatches(info, options)) return true;
      const changes: FileChange[] = [];
      if (!old?.equals(want)) changes.push(change(path, old, want));
      const meta = ownershipChange(info, options);
      if (meta) changes.push(meta);
      return { applied: false, changes };
    },
    apply: async (ctx, path, value, options = {}) => {
      const info = await ctx.stat(path);
      if (info.exists && info.type === 'directory') ctx.fail(`${path} is a directory`);
      if (!info.exists) await ensureParent(ctx, path);
      await ctx.writeFile(path, toBytes(value), {
        ...(options.mode !== undefined ? { mode: options.mode } : {}),
        ...(options.owner !== undefined ? { owner: options.owner } : {}),
        ...(options.group !== undefined ? { group: options.group } : {}),
      });
    },
    unapply: async (ctx, path) => {
      await ctx.run(['rm', '-f', '--', path], { affects: [path] });
    },
  }),
);

const secretOptions = fileOwnership
  .extend({ iden1: z.string().min(1).optional(), iden2: z.string().min(1).optional() })
  .strict();

/**
 * The file holds prerequisite data (a secret) from the deploying machine: by default the
 * item (HOSTNAME, PATH), mode 0600. The content goes to the target only on stdin and is
 * never shown: changes are reported without it.
 */
export const hasSecretContent = withParams<[path: Arg, options?: Arg]>()(
  defprop({
    name: 'file.hasSecretContent',
    desc: (path) => `${path} has secret content`,
    args: z.tuple([absolutePath, secretOptions.optional()]),
    argNames: ['path', 'options'],
    hostattrs: (h, path, options = {}) => h.requireData(options.iden1 ?? h.hostname, options.iden2 ?? path),
    prefetch: (path) => [{ path, content: true }, { path: posix.dirname(path) }],
    check: async (ctx, path, options = {}) => {
      const info = await ctx.stat(path);
      const want = await ctx.getData(options.iden1 ?? ctx.hostname, options.iden2 ?? path);
      const old = info.exists && info.type === 'file' ? await ctx.readFile(path) : null;
      const ownership = secretOwnership(ctx, options);
      const same = old !== null && old.equals(want);
      if (same && ownershipMatches(info, ownership)) return true;
      // What changes, never what the secret is.
      const changes: FileChange[] = same ? [] : [{ path, before: null, after: null, kind: 'secret' }];
      const meta = ownershipChange(info, ownership);
      if (meta) changes.push(meta);
      return { applied: false, changes };
    },
    apply: async (ctx, path, options = {}) => {
      const info = await ctx.stat(path);
      if (info.exists && info.type === 'directory') ctx.fail(`${path} is a directory`);
      if (!info.exists) await ensureParent(ctx, path);
      const data = await ctx.getData(options.iden1 ?? ctx.hostname, options.iden2 ?? path);
      // Never whoever made the path first: the owner named, else the deploying user.
      const ownership = secretOwnership(ctx, options);
      await ctx.writeFile(path, data, { mode: ownership.mode, owner: ownership.owner, group: ownership.group });
    },
    unapply: async (ctx, path) => {
      await ctx.run(['rm', '-f', '--', path], { affects: [path] });
    },
  }),
);

const linesArgs = z.tuple([absolutePath, lines]);

/** The lines missing from a file added at its end, in order, once each. */
const addLines = (wanted: readonly string[]) => (old: string[]) => [
  ...old,
  ...wanted.filter((l, i) => !old.includes(l) && wanted.indexOf(l) === i),
];
const dropLines = (unwanted: readonly string[]) => (old: string[]) => old.filter((l) => !unwanted.includes(l));

/** `path` contains each of `lines`: the missing ones are appended, in order. */
export const containsLines = withParams<[path: Arg, lines: Arg]>()(
  defprop({
    name: 'file.containsLines',
    desc: (path) => `${path} contains lines`,
    args: linesArgs,
    argNames: ['path', 'lines'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, wanted) => checkLines(ctx, path, addLines(wanted)),
    apply: (ctx, path, wanted) => rewriteLines(ctx, path, addLines(wanted)),
    unapply: (ctx, path, wanted) => rewriteLines(ctx, path, dropLines(wanted)),
  }),
);

/** `path` contains none of `lines` (exact matches removed; the rest kept). */
export const lacksLines = withParams<[path: Arg, lines: Arg]>()(
  defprop({
    name: 'file.lacksLines',
    desc: (path) => `${path} lacks lines`,
    args: linesArgs,
    argNames: ['path', 'lines'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, unwanted) => checkLines(ctx, path, dropLines(unwanted)),
    apply: (ctx, path, unwanted) => rewriteLines(ctx, path, dropLines(unwanted)),
  }),
);

/** `path` is a directory (made with its parents); with options, also this mode, owner and group. */
export const directoryExists = withParams<[path: Arg, options?: Arg]>()(
  defprop({
    name: 'file.directoryExists',
    desc: (path) => `${path} is a directory`,
    args: z.tuple([absolutePath, fileOwnership.optional()]),
    argNames: ['path', 'options'],
    prefetch: (path) => [{ path }],
    check: async (ctx, path, options = {}) => {
      const info = await ctx.stat(path);
      if (info.exists && info.type === 'directory' && ownershipMatches(info, options)) return true;
      return { applied: false, changes: [metadataChange(info, describeWanted('directory', options, info))] };
    },
    apply: async (ctx, path, options = {}) => {
      const info = await ctx.stat(path);
      if (info.exists && info.type !== 'directory') ctx.fail(`${path} exists and is not a directory`);
      if (!info.exists) await ctx.run(['mkdir', '-p', '--', path], { affects: [path] });
      if (options.owner !== undefined || options.group !== undefined) {
        const owner = `${options.owner ?? ''}${options.group !== undefined ? `:${options.group}` : ''}`;
        await ctx.run(['chown', '--', owner, path], { affects: [path] });
      }
      if (options.mode !== undefined)
        await ctx.run(['chmod', '--', options.mode.toString(8), path], { affects: [path] });
    },
    unapply: async (ctx, path) => {
      await ctx.run(['rm', '-rf', '--', path], { affects: [path] });
    },
  }),
);

/** `link` is a symbolic link to `target` (what was at `link` is replaced). */
export const symlinked = withParams<[link: Arg, target: Arg]>()(
  defprop({
    name: 'file.symlinked',
    desc: (link, target) => `${link} is a symlink to ${target}`,
    args: z.tuple([absolutePath, z.string().min(1, 'must not be empty')]),
    argNames: ['link', 'target'],
    prefetch: (link) => [{ path: link }, { path: posix.dirname(link) }],
    check: async (ctx, link, target) => {
      const info = await ctx.stat(link);
      if (info.exists && info.type === 'symlink' && info.target === target) return true;
      return { applied: false, changes: [metadataChange(info, `symlink to ${target}`)] };
    },
    apply: async (ctx, link, target) => {
      const info = await ctx.stat(link);
      if (info.exists && info.type === 'directory') ctx.fail(`${link} is a directory`);
      if (!info.exists) await ensureParent(ctx, link);
      // ln -sf would unlink first; a new link renamed into place is atomic.
      await replaceWithSymlink(ctx, link, target);
    },
    unapply: async (ctx, link) => {
      await ctx.run(['rm', '-f', '--', link], { affects: [link] });
    },
  }),
);

/** The paths do not exist (rm -f: files and links, not directories). */
export const removed = withParams<[path: Arg, ...more: Arg[]]>()(
  defprop({
    name: 'file.removed',
    desc: (...paths) => `${paths.join(', ')} removed`,
    args: z.array(absolutePath).min(1, 'give at least one path') as unknown as z.ZodType<
      string[],
      z.ZodTypeDef,
      string[]
    >,
    argNames: ['paths'],
    prefetch: (...paths) => paths.map((path) => ({ path })),
    check: async (ctx, ...paths) => {
      const changes: FileChange[] = [];
      for (const path of paths) {
        const info = await ctx.stat(path);
        if (info.exists) changes.push({ path, before: info.type ?? 'file', after: 'absent', kind: 'metadata' });
      }
      return changes.length === 0 || { applied: false, changes };
    },
    apply: async (ctx, ...paths) => {
      for (const path of paths) {
        const info = await ctx.stat(path);
        if (info.exists && info.type === 'directory') ctx.fail(`${path} is a directory (file.removed removes files)`);
      }
      await ctx.run(['rm', '-f', '--', ...paths], { affects: paths });
    },
  }),
);

const iniTriple = z.tuple([z.string(), z.string().min(1, 'key must not be empty'), z.string()], {
  errorMap: () => ({ message: 'must be a [section, key, value] triple' }),
});

/** `path` (an ini file) sets each `[section, key, value]`, in its section, added where missing. */
export const containsIniSettings = withParams<[path: Arg, ...settings: Arg[]]>()(
  defprop({
    name: 'file.containsIniSettings',
    desc: (path) => `${path} has ini settings`,
    args: z
      .tuple([absolutePath])
      .rest(z.any())
      .superRefine((args, ctx) => {
        args.slice(1).forEach((triple, i) => {
          const parsed = iniTriple.safeParse(triple);
          if (!parsed.success)
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i + 1], message: parsed.error.issues[0]!.message });
        });
      }) as unknown as z.ZodType<
      [string, ...[string, string, string][]],
      z.ZodTypeDef,
      [string, ...[string, string, string][]]
    >,
    argNames: ['path', 'setting'],
    prefetch: (path) => [{ path, content: true }],
    check: (ctx, path, ...settings) => checkLines(ctx, path, iniEdit(settings)),
    apply: (ctx, path, ...settings) => rewriteLines(ctx, path, iniEdit(settings)),
  }),
);

function iniEdit(settings: readonly (readonly [string, string, string])[]) {
  return (old: string[]) => splitLines(setIniSettings(joinLines(old), settings));
}

/** The mode or owner a file property wants, where the file's are otherwise. */
function ownershipChange(info: FileInfo, want: FileOwnership): FileChange | undefined {
  if (!info.exists || info.type !== 'file' || ownershipMatches(info, want)) return undefined;
  return metadataChange(info, describeWanted('file', want, info));
}

/** A secret's mode (default 0600) and owner (default the deploying user, root as a rule). */
function secretOwnership(ctx: { uid: number; gid: number }, o: FileOwnership) {
  return { mode: o.mode ?? 0o600, owner: o.owner ?? String(ctx.uid), group: o.group ?? String(ctx.gid) };
}
