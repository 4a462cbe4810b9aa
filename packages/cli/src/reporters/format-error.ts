/**
 * How a failure reads: what failed (host, property), then the command, its exit code
 * and its stderr verbatim, indented. A stack trace only at -vv.
 */
import { CommandFailedError, ConnectionError, isErrorOf, type ConsfigError } from '@consfig/core';
import type { Style } from './colors.js';

function indent(text: string, prefix: string): string[] {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return body.split('\n').map((line) => `${prefix}${line}`);
}

export function errorDetails(error: ConsfigError, pad: string, verbosity: number, s: Style): string[] {
  const lines: string[] = [];
  if (isErrorOf(error, CommandFailedError)) {
    lines.push(
      `${pad}${s.dim('command:')}   ${error.message.replace(/^command /, '').replace(/ exited with code \d+$/, '')}`,
    );
    lines.push(`${pad}${s.dim('exit code:')} ${error.exitCode}`);
    if (error.stderr.trim() !== '') lines.push(`${pad}${s.dim('stderr:')}`, ...indent(error.stderr, `${pad}  `));
    if (verbosity >= 1 && error.stdout.trim() !== '')
      lines.push(`${pad}${s.dim('stdout:')}`, ...indent(error.stdout, `${pad}  `));
  } else if (isErrorOf(error, ConnectionError)) {
    lines.push(`${pad}${s.dim('chain:')}     ${error.chain}`);
    if (error.exitCode !== undefined) lines.push(`${pad}${s.dim('exit code:')} ${error.exitCode}`);
    if (error.stderr.trim() !== '' && !error.message.includes(error.stderr.trim())) {
      lines.push(`${pad}${s.dim('stderr:')}`, ...indent(error.stderr, `${pad}  `));
    }
  }
  if (verbosity >= 2 && error.stack) lines.push(...indent(error.stack, `${pad}${s.dim('| ')}`));
  // What it wraps, a config's own error say: its stack names the user's files and lines.
  const cause = error.cause;
  if (verbosity >= 2 && cause instanceof Error && cause.stack) {
    lines.push(...indent(`caused by ${cause.stack}`, `${pad}${s.dim('| ')}`));
  }
  return lines;
}

/** One line naming what failed. */
export function errorHeadline(error: ConsfigError): string {
  const message = isErrorOf(error, CommandFailedError)
    ? `command failed with exit code ${error.exitCode}`
    : error.message;
  // Messages that already name the property need not say it twice.
  const property = error.property && !message.includes(error.property) ? error.property : undefined;
  const where = [error.host, property].filter(Boolean).join(': ');
  return where ? `${where}: ${message}` : message;
}

/** A plain object for JSON output. */
export function serializeError(error: ConsfigError): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, code: error.code, message: error.message };
  for (const key of [
    'host',
    'property',
    'argv',
    'exitCode',
    'stdout',
    'stderr',
    'chain',
    'argument',
    'path',
  ] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
