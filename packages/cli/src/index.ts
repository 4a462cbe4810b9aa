/** consfig's CLI as a library: run it in-process, or reuse its reporters. */
export { runCli } from './main.js';
export type { CliIo } from './io.js';
export { EXIT } from './io.js';
export { parseCommand, UsageError, HELP } from './args.js';
export type { Command } from './args.js';
export { findConfig, loadConfig, ConfigError } from '@consfig/core';
export { reporters } from './reporters/index.js';
export type { Output, Reporter, ReporterOptions, ReporterName } from './reporters/index.js';
