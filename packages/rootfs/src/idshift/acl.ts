/**
 * POSIX ACLs as the kernel stores them in system.posix_acl_access/default: a u32
 * version (2), then 8-byte entries {u16 tag, u16 perm, u32 id}. Only named user and
 * group entries carry ids that need shifting.
 */
import { mapId, type IdMaps } from './maps.js';

export const ACL_ACCESS = 'system.posix_acl_access';
export const ACL_DEFAULT = 'system.posix_acl_default';
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

export class UnmappedIdError extends Error {}

/** The ACL with its user and group ids mapped; undefined when it names no ids. */
export function shiftAcl(value: Buffer, maps: IdMaps, path: string): Buffer | undefined {
  if (value.length < 4 || value.readUInt32LE(0) !== 2 || (value.length - 4) % 8 !== 0) {
    throw new TypeError(`${path}: unknown ACL format`);
  }
  const out = Buffer.from(value);
  let changed = false;
  for (let off = 4; off < out.length; off += 8) {
    const tag = out.readUInt16LE(off);
    if (tag !== ACL_USER && tag !== ACL_GROUP) continue;
    const id = out.readUInt32LE(off + 4);
    const mapped = mapId(tag === ACL_USER ? maps.uid : maps.gid, id);
    if (mapped === undefined) throw new UnmappedIdError(`${path}: ACL entry for ${tag === ACL_USER ? 'uid' : 'gid'} ${id} is outside the map`);
    out.writeUInt32LE(mapped, off + 4);
    changed = true;
  }
  return changed ? out : undefined;
}
