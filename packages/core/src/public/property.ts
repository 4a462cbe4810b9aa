/**
 * @consfig/core/property, for those who write a property library: everything of the
 * root export a property uses, and what only properties need (the context's types,
 * probes, hand-made applications and combinators, OS requirements, data lookups).
 */
export * from '../index.js';
export { invalidApplication, isPropapp, mayHaveTouched, PROPAPP } from '../property.js';
export type { EarlierChange, HostattrsContext, Outcome, PropertyDefinition, Result, TextResult } from '../property.js';
export { flattenProps } from '../combinators.js';
export { osSchema, requireOs } from '../hostattrs.js';
export type { FileInfo, FileType, ProbeQuery, WriteOptions } from '../connection.js';
export { tempPathFor } from '../agent/connection.js';
export { shellJoin, shellQuote } from '../agent/shell-quote.js';
export { formatArgv } from '../errors.js';
export { dataAttr, fetchData } from '../data.js';
export { sha256Hex } from '../digest.js';
