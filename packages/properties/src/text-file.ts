/** Helpers the property modules share for editing files through the connection. */
import { posix } from 'node:path';
import type { FileChange, PropertyContext } from '@consfig/core';
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

/** Replace a text file's lines, keeping its mode and owner. */
export async function rewriteLines(ctx: PropertyContext, path: string, edit: (old: string[]) => string[]) {
  const before = await ctx.readFileIfExists(path);
  const after = Buffer.from(joinLines(edit(splitLines(before?.toString('utf8') ?? ''))), 'utf8');
  if (before && before.equals(after)) return { result: 'unchanged' as const };
  if (!before) await ensureParent(ctx, path);
  await ctx.writeFile(path, after);
  return { result: 'changed' as const, changes: [change(path, before, after)] };
}

