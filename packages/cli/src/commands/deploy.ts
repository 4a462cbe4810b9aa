/** `consfig deploy` and `consfig check`. */
import { deployMany, type HostResult } from '@consfig/core';
import type { Command } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { terminalAsk } from '../prompt.js';
import { loadHosts } from './load-hosts.js';
import { reporters, type ReporterName } from '../reporters/index.js';
import { useColor } from '../color.js';

export function exitCodeFor(results: readonly HostResult[], pendingIsError: boolean): number {
  let code = 0;
  if (results.some((r) => r.status === 'failed')) code |= EXIT.failed;
  if (results.some((r) => r.status === 'unreachable')) code |= EXIT.unreachable;
  if (code === 0 && pendingIsError && results.some((r) => r.changed > 0)) return EXIT.pending;
  return code;
}

export async function deployCommand(
  command: Extract<Command, { name: 'deploy' | 'check' }>,
  io: CliIo,
): Promise<number> {
  const { hosts, config } = await loadHosts(command, io, { deployable: true });
  const dryRun = command.name === 'check';
  const name: ReporterName = command.reporter ?? (io.stdout.isTTY ? 'tty' : 'plain');
  const color = useColor(command.color, Boolean(io.stdout.isTTY), io.env);
  const reporter = new reporters[name]({ verbosity: command.verbosity, dryRun, color, out: io.stdout });
  const targets = command.via === undefined ? hosts : hosts.map((h) => h.withVia(command.via!));
  const results = await deployMany(targets, {
    parallel: command.parallel,
    dryRun,
    ...(config.data ? { data: config.data } : {}),
    ...(command.lockWait !== undefined ? { lockWaitMs: command.lockWait * 1000 } : {}),
    ask: terminalAsk({ before: () => reporter.pause?.(), after: () => reporter.resume?.() }),
    askPasswords: command.askSudoPass,
    ...(command.sshPersist !== undefined ? { keepConnections: command.sshPersist } : {}),
    onEvent: (event) => reporter.onEvent(event),
    ...(io.signal ? { signal: io.signal } : {}),
  });
  reporter.end(results);
  if (io.signal?.aborted) return EXIT.interrupted;
  return exitCodeFor(results, dryRun && command.exitCode);
}
