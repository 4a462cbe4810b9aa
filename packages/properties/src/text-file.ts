/**
 * Helpers the property modules share for editing files through the connection.
 *
 * One policy for what is at a property's path: only a regular file is read or edited.
 * A symlink (or anything else) there is replaced by a new regular file and never
 * followed: nothing of its target (content, owner, mode) is carried over.
 */
import { posix } from 'node:path';
import {
  tempPathFor,
  type CheckResult,
  type FileChange,
  type FileInfo,
  type PropertyContext,
} from '@consfig/core/property';
import type { FileOwnership } from './schemas.js';

export function asText(data: Buffer | null): string | null {
  if (data === null) return null;
  return data.includes(0) ? `<${data.length} bytes of binary data>` : data.toString('utf8');
}

export function change(path: string, before: Buffer | null, after: Buffer | null): FileChange {
  return { path, before: asText(before), after: asText(after) };
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

export function joinLines(list: readonly string[]): string {
  return list.length === 0 ? '' : `${list.join('\n')}\n`;
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** What is at a path, as one line: what check mode shows for changes that are not content. */
export function describeInfo(info: FileInfo): string {
  if (!info.exists) return 'absent';
  if (info.type === 'symlink') return `symlink to ${info.target ?? '?'}`;
  const owner = `${info.user ?? info.uid}:${info.group ?? info.gid}`;
  return `${info.type ?? 'file'}, mode ${octal(info.mode ?? 0)}, owner ${owner}`;
}

/** The path's type, mode or owner would change from `info` to what `after` says. */
export function metadataChange(info: FileInfo, after: string): FileChange {
  return { path: info.path, before: describeInfo(info), after, kind: 'metadata' };
}

/** What a file with these wishes would look like, as describeInfo says it. */
export function describeWanted(type: string, want: FileOwnership, info: FileInfo): string {
  const mode = want.mode ?? (info.exists && info.type === type ? info.mode : undefined);
  const owner = want.owner ?? (info.exists && info.type === type ? (info.user ?? String(info.uid)) : undefined);
  const group = want.group ?? (info.exists && info.type === type ? (info.group ?? String(info.gid)) : undefined);
  return [
    type,
    mode !== undefined ? `mode ${octal(mode)}` : undefined,
    owner || group ? `owner ${owner ?? '?'}:${group ?? '?'}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}

export function ownershipMatches(
  info: { mode?: number; user?: string; group?: string; uid?: number; gid?: number },
  want: FileOwnership,
): boolean {
  if (want.mode !== undefined && info.mode !== want.mode) return false;
  if (want.owner !== undefined && info.user !== want.owner && String(info.uid) !== want.owner) return false;
  if (want.group !== undefined && info.group !== want.group && String(info.gid) !== want.group) return false;
  return true;
}

export async function ensureParent(ctx: PropertyContext, path: string): Promise<void> {
  const parent = posix.dirname(path);
  const info = await ctx.stat(parent);
  if (!info.exists) await ctx.run(['mkdir', '-p', '--', parent], { affects: [parent] });
  else if (info.type !== 'directory' && !(info.type === 'symlink')) {
    ctx.fail(`${parent} exists and is not a directory`);
  }
}

/** A regular file's content; null where there is none or something else is there (never followed). */
export async function regularContent(ctx: PropertyContext, path: string): Promise<Buffer | null> {
  const info = await ctx.stat(path);
  return info.exists && info.type === 'file' ? ctx.readFile(path) : null;
}

/**
 * What would change for `path` to hold `want` (null: to be absent), with `mode` if given:
 * nothing when it does already. For checks that look after several files.
 */
export async function contentChanges(
  ctx: PropertyContext,
  path: string,
  want: string | Buffer | null,
  mode?: number,
): Promise<FileChange[]> {
  const info = await ctx.stat(path);
  if (want === null) {
    if (!info.exists) return [];
    return info.type === 'file' ? [change(path, await ctx.readFile(path), null)] : [metadataChange(info, 'absent')];
  }
  const bytes = typeof want === 'string' ? Buffer.from(want) : want;
  const old = await regularContent(ctx, path);
  const changes = old?.equals(bytes) ? [] : [change(path, old, bytes)];
  if (mode !== undefined && old !== null && info.mode !== mode)
    changes.push(metadataChange(info, describeWanted('file', { mode }, info)));
  return changes;
}

/** The changes a check found (none when it says applied). */
export function changesOf(check: CheckResult): FileChange[] {
  return typeof check === 'boolean' ? [] : [...(check.changes ?? [])];
}

/** A check's answer from the changes it found. */
export function checkResult(changes: FileChange[]): CheckResult {
  return changes.length === 0 ? true : { applied: false, changes };
}

export type LineEdit = (old: string[]) => string[];

interface Planned {
  before: Buffer | null;
  after: Buffer;
  applied: boolean;
}

async function plan(ctx: PropertyContext, path: string, edit: LineEdit): Promise<Planned> {
  const before = await regularContent(ctx, path);
  const after = Buffer.from(joinLines(edit(splitLines(before?.toString('utf8') ?? ''))), 'utf8');
  // Nothing to put where there is no regular file: left as it is (a link is not emptied).
  const applied = before ? before.equals(after) : after.length === 0;
  return { before, after, applied };
}

/** The check of a line-editing property: applied when the edit changes nothing; else its diff. */
export async function checkLines(ctx: PropertyContext, path: string, edit: LineEdit): Promise<CheckResult> {
  const p = await plan(ctx, path, edit);
  return p.applied ? true : { applied: false, changes: [change(path, p.before, p.after)] };
}

/** Replace a text file's lines, keeping its mode and owner (a link there is replaced, not followed). */
export async function rewriteLines(ctx: PropertyContext, path: string, edit: LineEdit) {
  const p = await plan(ctx, path, edit);
  if (p.applied) return { result: 'unchanged' as const };
  if (!(await ctx.stat(path)).exists) await ensureParent(ctx, path);
  await ctx.writeFile(path, p.after);
  return { result: 'changed' as const, changes: [change(path, p.before, p.after)] };
}

/**
 * `link` becomes a symlink to `target`, atomically: a new link under a name nobody can
 * guess, renamed over whatever was there (never a directory: the caller refuses those).
 */
export async function replaceWithSymlink(
  ctx: PropertyContext,
  link: string,
  target: string,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const tmp = tempPathFor(link);
  await ctx.run(['ln', '-sT', '--', target, tmp], { affects: [tmp] });
  try {
    if (owner) await ctx.run(['chown', '-h', '--', `${owner.uid}:${owner.gid}`, tmp], { affects: [tmp] });
    await ctx.run(['mv', '-fT', '--', tmp, link], { affects: [tmp, link] });
  } catch (error) {
    await ctx.run(['rm', '-f', '--', tmp], { affects: [tmp], allowFailure: true });
    throw error;
  }
}
