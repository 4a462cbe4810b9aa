/**
 * File capabilities (security.capability). chown(2) drops them, so they are read
 * before and written after. Inside a user namespace they only take effect as v3 with
 * the namespace's root as `rootid`; a rootid that maps to 0 is written as v2, which
 * is what a tree shifted back out of the namespace had to begin with.
 */
import { mapId, type IdMaps } from './maps.js';

export const CAPS = 'security.capability';
const REVISION_MASK = 0xff000000;
const REVISION_2 = 0x02000000;
const REVISION_3 = 0x03000000;
const V2_SIZE = 20;
const V3_SIZE = 24;

/** The capability xattr rewritten for `maps` (its root id mapped). */
export function shiftCaps(value: Buffer, maps: IdMaps, path: string): Buffer {
  const magic = value.readUInt32LE(0);
  const revision = (magic & REVISION_MASK) >>> 0;
  if (!((revision === REVISION_2 && value.length === V2_SIZE) || (revision === REVISION_3 && value.length === V3_SIZE))) {
    throw new TypeError(`${path}: unknown file capability format`);
  }
  const rootid = revision === REVISION_3 ? value.readUInt32LE(V2_SIZE) : 0;
  const mapped = mapId(maps.uid, rootid);
  if (mapped === undefined) throw new TypeError(`${path}: file capability root id ${rootid} is outside the map`);
  const flags = (magic & ~REVISION_MASK) >>> 0;
  if (mapped === 0) {
    const v2 = Buffer.alloc(V2_SIZE);
    value.copy(v2, 4, 4, V2_SIZE);
    v2.writeUInt32LE((REVISION_2 | flags) >>> 0, 0);
    return v2;
  }
  const v3 = Buffer.alloc(V3_SIZE);
  value.copy(v3, 4, 4, V2_SIZE);
  v3.writeUInt32LE((REVISION_3 | flags) >>> 0, 0);
  v3.writeUInt32LE(mapped, V2_SIZE);
  return v3;
}
