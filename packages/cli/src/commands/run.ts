/** `consfig run HOST -- ARGV`: one command through the host's chain. */
import { openConnection, resolveVia } from '@consfig/core';
import type { Command } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { loadHosts } from './load-hosts.js';
import { UsageError } from '../args.js';

export async function runCommand(command: Extract<Command, { name: 'run' }>, io: CliIo): Promise<number> {
  const { hosts } = await loadHosts(command, io);
  if (hosts.length !== 1) throw new UsageError(`${command.host} names ${hosts.length} hosts; run takes one`);
  const host = hosts[0]!;
  const conn = await openConnection(resolveVia(command.via ?? host.via));
  try {
    const result = await conn.run(command.argv);
    io.stdout.write(result.stdout.toString('utf8'));
    io.stderr.write(result.stderr.toString('utf8'));
    return result.exitCode === 0 ? EXIT.ok : Math.min(result.exitCode, 255);
  } finally {
    await conn.close();
  }
}
