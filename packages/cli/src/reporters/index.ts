import { JsonReporter } from './json.js';
import { PlainReporter } from './plain.js';
import { TtyReporter } from './tty.js';
import type { Reporter, ReporterOptions } from './types.js';

export type ReporterName = 'tty' | 'plain' | 'json';

export const reporters: Record<ReporterName, new (options: ReporterOptions) => Reporter> = {
  tty: TtyReporter,
  plain: PlainReporter,
  json: JsonReporter,
};

export type { Output, Reporter, ReporterOptions } from './types.js';
export { recapTable } from './recap.js';
export { errorDetails, errorHeadline, serializeError } from './format-error.js';
export { style } from './colors.js';
