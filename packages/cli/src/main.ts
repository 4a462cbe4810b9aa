/**
 * The CLI: parse → load the consfig → run the command → report → exit code. Errors
 * become one clear message on stderr (a stack trace only at -vv).
 */
import '@consfig/connections';
import { ConnectionError, isConsfigError, toConsfigError } from '@consfig/core';
import { HELP, parseCommand, UsageError, type Command } from './args.js';
import { deployCommand } from './commands/deploy.js';
import { hostsCommand } from './commands/hosts.js';
import { runCommand } from './commands/run.js';
import { EXIT, type CliIo } from './io.js';
import { errorDetails, errorHeadline, style } from './reporters/index.js';
import { VERSION } from './version.js';
import { jsonLine } from './reporters/json.js';

async function dispatch(command: Command, io: CliIo): Promise<number> {
  switch (command.name) {
    case 'help':
      io.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    case 'version':
      io.stdout.write(`consfig ${VERSION}\n`);
      return EXIT.ok;
    case 'deploy':
    case 'check':
      return deployCommand(command, io);
    case 'hosts':
      return hostsCommand(command, io);
    case 'run':
      return runCommand(command, io);
  }
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let verbosity = 0;
  let json = false;
  try {
    const command = parseCommand(argv);
    if ('verbosity' in command) verbosity = command.verbosity;
    json = ('reporter' in command && command.reporter === 'json') || ('json' in command && command.json);
    return await dispatch(command, io);
  } catch (error) {
    // A program reading --json gets the failure in the stream too, as a line of its own.
    if (json) io.stdout.write(jsonLine('error', { error: isConsfigError(error) ? error : toConsfigError(error) }));
    const s = style(false);
    if (error instanceof UsageError) {
      io.stderr.write(`consfig: ${error.message}\n`);
      return EXIT.internal;
    }
    if (isConsfigError(error)) {
      io.stderr.write(`consfig: ${errorHeadline(error)}\n`);
      const details = errorDetails(error, '  ', verbosity, s);
      if (details.length > 0) io.stderr.write(`${details.join('\n')}\n`);
      return error instanceof ConnectionError ? EXIT.unreachable : EXIT.internal;
    }
    const message = error instanceof Error ? (verbosity >= 2 ? error.stack : error.message) : String(error);
    io.stderr.write(`consfig: internal error: ${message}\n`);
    return EXIT.internal;
  }
}
