import type { Consfig, Host } from '@consfig/core';
import { UsageError, type CommonOptions } from '../args.js';
import type { CliIo } from '../io.js';
import { ConfigError, findConfig, loadConfig } from '@consfig/core';
import { didYouMean } from '../did-you-mean.js';
import { nestedParents, selectHosts } from '../select-hosts.js';

export interface LoadedHosts {
  file: string;
  hosts: Host[];
  config: Consfig;
  /** Hosts deployed as nested hosts of another: their parent's name. */
  parents: Map<string, string>;
}

/**
 * Find and load the consfig, then pick the hosts the patterns name. With `deployable`,
 * a host reached only as another's nested host (no via of its own) is passed over by
 * globs, and refused when named: it is deployed through its parent.
 */
export async function loadHosts(
  command: CommonOptions & { hosts?: string[]; host?: string; via?: string | undefined },
  io: CliIo,
  options: { deployable?: boolean } = {},
): Promise<LoadedHosts> {
  const file = findConfig(io.cwd, command.config);
  if (command.verbosity >= 1) io.stderr.write(`consfig: using ${file}\n`);
  const config = await loadWithHints(file);
  const patterns = command.hosts ?? (command.host ? [command.host] : []);
  const parents = nestedParents(config.hosts);
  const nestedOnly = (h: Host) => h.via === undefined && command.via === undefined && parents.has(h.name);
  const hosts = selectHosts(config.hosts, patterns, options.deployable ? { skip: nestedOnly } : {});
  if (options.deployable) {
    for (const host of hosts.filter(nestedOnly)) {
      throw new UsageError(
        `${host.name} has no via: it is deployed as a nested host of ${parents.get(host.name)} ` +
          '(deploy that), or give it a via',
      );
    }
  }
  return { file, hosts, config, parents };
}

/** loadConfig, its error naming the name most likely meant where a config misspelt one of consfig's. */
async function loadWithHints(file: string): Promise<Consfig> {
  try {
    return await loadConfig(file);
  } catch (error) {
    const hinted = error instanceof ConfigError ? didYouMean(error.message) : undefined;
    if (hinted === undefined) throw error;
    throw new ConfigError(hinted, file, (error as ConfigError).cause);
  }
}
