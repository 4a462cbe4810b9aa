export { IdShiftError, MARKER, markerText, shiftState, shiftTree, unshiftTree } from './shift.js';
export type { ShiftOptions, ShiftReport, ShiftTarget } from './shift.js';
export { SHIFTER } from './program.js';
export { defaultMapsFor, invertMaps, mapId, parseRanges, subordinateRanges } from './maps.js';
export type { IdMaps, IdRange } from './maps.js';
