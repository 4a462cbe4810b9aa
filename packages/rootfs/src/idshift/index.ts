export { shiftTree, unshiftTree, shiftState, IdShiftError, MARKER } from './shift.js';
export type { ShiftOptions, ShiftReport } from './shift.js';
export { defaultMapsFor, invertMaps, mapId, parseRanges, subordinateRanges } from './maps.js';
export type { IdMaps, IdRange } from './maps.js';
export { shiftAcl, ACL_ACCESS, ACL_DEFAULT } from './acl.js';
export { shiftCaps, CAPS } from './caps.js';
export { getXattr, listXattrs, removeXattr, setXattr, XattrError } from './xattr.js';
