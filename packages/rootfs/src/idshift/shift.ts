/**
 * Shifting a tree's ownership into (or back out of) a user namespace's id range.
 *
 * Per inode, in this order, because chown(2) clears setuid/setgid and the file
 * capability: read mode, capability and ACLs; lchown; restore the mode bits chown
 * dropped; write the shifted ACLs; write the capability as v3 with the mapped root id.
 * Symlinks are never followed (l* calls only), other filesystems are never entered, and
 * a hard-linked inode is shifted once.
 *
 * The root directory carries a marker xattr while shifting and after: a second run with
 * the same maps does nothing, and an interrupted run resumes (ids already in the target
 * range are left alone, which is unambiguous because the ranges may not overlap).
 */
import { chmodSync, lchownSync, lstatSync, opendirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ACL_ACCESS, ACL_DEFAULT, shiftAcl } from './acl.js';
import { CAPS, shiftCaps } from './caps.js';
import { invertMaps, mapId, overlaps, type IdMaps, type IdRange } from './maps.js';
import { getXattr, listXattrs, removeXattr, setXattr } from './xattr.js';

export const MARKER = 'trusted.consfig.idshift';

export class IdShiftError extends Error {
  readonly code = 'CONSFIG_IDSHIFT';
}

export interface ShiftOptions {
  /** What to do with an id no range maps: fail (default) or leave it as it is. */
  unmapped?: 'error' | 'keep';
}

export interface ShiftReport {
  /** Inodes visited. */
  inodes: number;
  /** Inodes whose owner changed. */
  shifted: number;
  /** 'done' (shifted now), 'already' (a finished shift with these maps), 'resumed'. */
  state: 'done' | 'already' | 'resumed';
  durationMs: number;
}

interface Marker {
  state: 'shifting' | 'shifted';
  maps: IdMaps;
}

function readMarker(root: string): Marker | undefined {
  const raw = getXattr(root, MARKER);
  return raw ? (JSON.parse(raw.toString('utf8')) as Marker) : undefined;
}

function sameMaps(a: IdMaps, b: IdMaps): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function inTargets(ranges: readonly IdRange[], id: number): boolean {
  return ranges.some((r) => id >= r.outside && id < r.outside + r.count);
}

const SPECIAL_BITS = 0o7000;

function shiftOne(path: string, st: Stats, maps: IdMaps, resume: boolean, options: ShiftOptions): boolean {
  const isLink = st.isSymbolicLink();
  const targetUid = resume && inTargets(maps.uid, st.uid) ? st.uid : mapId(maps.uid, st.uid);
  const targetGid = resume && inTargets(maps.gid, st.gid) ? st.gid : mapId(maps.gid, st.gid);
  if ((targetUid === undefined || targetGid === undefined) && options.unmapped !== 'keep') {
    throw new IdShiftError(`${path}: owner ${st.uid}:${st.gid} is outside the id map`);
  }
  const uid = targetUid ?? st.uid;
  const gid = targetGid ?? st.gid;
  const names = isLink ? [] : listXattrs(path);
  const caps = names.includes(CAPS) ? getXattr(path, CAPS) : undefined;
  const acls: [string, Buffer][] = [];
  for (const name of [ACL_ACCESS, ACL_DEFAULT]) {
    if (!names.includes(name)) continue;
    const value = getXattr(path, name);
    if (!value) continue;
    // A resumed inode that is already shifted has shifted ACLs too.
    const already = resume && uid === st.uid && gid === st.gid;
    const shifted = already ? undefined : shiftAcl(value, maps, path);
    if (shifted) acls.push([name, shifted]);
  }
  if (uid === st.uid && gid === st.gid) return false;
  lchownSync(path, uid, gid);
  if (!isLink && (st.mode & SPECIAL_BITS) !== 0) chmodSync(path, st.mode & 0o7777);
  for (const [name, value] of acls) setXattr(path, name, value);
  if (caps) setXattr(path, CAPS, shiftCaps(caps, maps, path));
  return true;
}

function walk(root: string, visit: (path: string, st: Stats) => void): void {
  const top = lstatSync(root);
  if (!top.isDirectory()) throw new IdShiftError(`${root} is not a directory`);
  const seen = new Set<number>();
  const stack = [root];
  visit(root, top);
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const handle = opendirSync(dir);
    try {
      for (let entry = handle.readSync(); entry; entry = handle.readSync()) {
        const path = join(dir, entry.name);
        const st = lstatSync(path);
        if (st.dev !== top.dev) continue; // a mount point: another filesystem
        if (!st.isDirectory() && st.nlink > 1) {
          if (seen.has(st.ino)) continue;
          seen.add(st.ino);
        }
        visit(path, st);
        if (st.isDirectory()) stack.push(path);
      }
    } finally {
      handle.closeSync();
    }
  }
}

/** Mark the root as shifting, then shift every inode below it. */
function shiftAll(root: string, marker: IdMaps, maps: IdMaps, resume: boolean, options: ShiftOptions) {
  setXattr(root, MARKER, Buffer.from(JSON.stringify({ state: 'shifting', maps: marker } satisfies Marker)));
  let inodes = 0;
  let shifted = 0;
  walk(root, (path, st) => {
    inodes++;
    if (shiftOne(path, st, maps, resume, options)) shifted++;
  });
  return { inodes, shifted };
}

function checkRanges(maps: IdMaps): void {
  if (overlaps(maps.uid) || overlaps(maps.gid)) {
    throw new IdShiftError('id map ranges overlap their targets: a shift could not be resumed safely');
  }
}

/** Shift every inode below `root` (on its filesystem) from host ids into `maps`. */
export function shiftTree(root: string, maps: IdMaps, options: ShiftOptions = {}): ShiftReport {
  checkRanges(maps);
  const started = performance.now();
  const marker = readMarker(root);
  if (marker && !sameMaps(marker.maps, maps)) {
    throw new IdShiftError(`${root} is already ${marker.state === 'shifted' ? 'shifted' : 'being shifted'} with other maps`);
  }
  if (marker?.state === 'shifted') return { inodes: 0, shifted: 0, state: 'already', durationMs: 0 };
  const resume = marker?.state === 'shifting';
  const { inodes, shifted } = shiftAll(root, maps, maps, resume, options);
  setXattr(root, MARKER, Buffer.from(JSON.stringify({ state: 'shifted', maps } satisfies Marker)));
  return { inodes, shifted, state: resume ? 'resumed' : 'done', durationMs: performance.now() - started };
}

/** Shift a tree back to host ids (the inverse of shiftTree with the same maps). */
export function unshiftTree(root: string, maps: IdMaps, options: ShiftOptions = {}): ShiftReport {
  checkRanges(maps);
  const started = performance.now();
  const marker = readMarker(root);
  if (!marker) return { inodes: 0, shifted: 0, state: 'already', durationMs: 0 };
  if (!sameMaps(marker.maps, maps)) throw new IdShiftError(`${root} was shifted with other maps`);
  // Resuming: after an interrupted shift some inodes are still at host ids, the target here.
  const { inodes, shifted } = shiftAll(root, maps, invertMaps(maps), true, options);
  removeXattr(root, MARKER);
  return { inodes, shifted, state: 'done', durationMs: performance.now() - started };
}

/** What the marker on `root` says: not shifted, shifting (interrupted) or shifted. */
export function shiftState(root: string): { state: 'none' | 'shifting' | 'shifted'; maps?: IdMaps } {
  const marker = readMarker(root);
  return marker ? { state: marker.state, maps: marker.maps } : { state: 'none' };
}
