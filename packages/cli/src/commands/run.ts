/**
 * `consfig run HOST -- ARGV`: one command through the host's chain. Its output is
 * streamed through as the bytes it is (a slow terminal pauses the command), and Ctrl-C
 * stops it on the target too.
 */
import { fetchItem, NoViaError, openConnection, resolveVia, type OutputSink } from '@consfig/core';
import type { Command } from '../args.js';
import { UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { terminalAsk } from '../prompt.js';
import type { Output } from '../reporters/index.js';
import { loadHosts } from './load-hosts.js';

function sink(out: Output): OutputSink {
  return {
    write: (chunk) => out.write(chunk) !== false,
    once: (event, listener) => (out.once ? out.once(event, listener) : listener()),
  };
}

export async function runCommand(command: Extract<Command, { name: 'run' }>, io: CliIo): Promise<number> {
  const { hosts, config } = await loadHosts(command, io, { deployable: true });
  if (hosts.length !== 1) throw new UsageError(`${command.host} names ${hosts.length} hosts; run takes one`);
  const host = hosts[0]!;
  const via = command.via ?? host.via;
  if (via === undefined)
    throw new NoViaError(`${host.name} has no via: write via: 'local' to run on this machine`, { host: host.name });
  if (io.signal?.aborted) return EXIT.interrupted;
  const conn = await openConnection(resolveVia(via), {
    ask: terminalAsk(),
    askPasswords: command.askSudoPass,
    keepConnections: command.sshPersist,
    data: (iden1, iden2) => fetchItem(host.name, iden1, iden2, config.data ?? []),
  });
  const onAbort = () => void conn.abort();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await conn.run(command.argv, { stdout: sink(io.stdout), stderr: sink(io.stderr) });
    return result.exitCode === 0 ? EXIT.ok : Math.min(result.exitCode, 255);
  } catch (error) {
    if (io.signal?.aborted) return EXIT.interrupted;
    throw error;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    await conn.close();
  }
}
