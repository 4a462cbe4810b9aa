import type { Consfig, Host } from '@consfig/core';
import type { CommonOptions } from '../args.js';
import type { CliIo } from '../io.js';
import { findConfig, loadConfig } from '../load-config.js';
import { selectHosts } from '../select-hosts.js';

/** Find and load the consfig, then pick the hosts the patterns name. */
export async function loadHosts(
  command: CommonOptions & { hosts?: string[]; host?: string },
  io: CliIo,
): Promise<{ file: string; hosts: Host[]; config: Consfig }> {
  const file = findConfig(io.cwd, command.config);
  // The config makes its ssh hops as it loads: they read this.
  if (command.sshPersist !== undefined) process.env.CONSFIG_SSH_PERSIST = String(command.sshPersist);
  if (command.verbosity >= 1) io.stderr.write(`consfig: using ${file}\n`);
  const config = await loadConfig(file);
  const patterns = command.hosts ?? (command.host ? [command.host] : []);
  return { file, hosts: selectHosts(config.hosts, patterns), config };
}
