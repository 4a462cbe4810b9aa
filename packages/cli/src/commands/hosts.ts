/** `consfig hosts`: each host with its chain and resolved hostattrs. */
import { describeChain, resolveVia, toConsfigError } from '@consfig/core';
import type { Command } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { errorHeadline, serializeError } from '../reporters/index.js';
import { jsonLine } from '../reporters/json.js';
import { loadHosts } from './load-hosts.js';

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export async function hostsCommand(command: Extract<Command, { name: 'hosts' }>, io: CliIo): Promise<number> {
  const { hosts, parents } = await loadHosts(command, io);
  let code: number = EXIT.ok;
  for (const host of hosts) {
    let chain: string;
    let attrs: [string, readonly unknown[]][] | undefined;
    let error;
    try {
      const parent = parents.get(host.name);
      chain =
        host.via !== undefined
          ? describeChain(resolveVia(host.via))
          : parent !== undefined
            ? `nested in ${parent}`
            : 'no via: not deployable';
      attrs = host.attrs.entries();
    } catch (e) {
      chain ??= '?';
      error = toConsfigError(e, { host: host.name });
      code = EXIT.failed;
    }
    if (command.json) {
      io.stdout.write(
        jsonLine('host', {
          host: host.name,
          chain,
          properties: host.props.map((p) => p.desc),
          ...(attrs ? { hostattrs: Object.fromEntries(attrs) } : {}),
          ...(error ? { error: serializeError(error) } : {}),
        }),
      );
      continue;
    }
    io.stdout.write(`${host.name}  (${chain})\n`);
    if (error) io.stdout.write(`  error: ${errorHeadline(error)}\n`);
    for (const [key, values] of attrs ?? []) io.stdout.write(`  ${key}: ${values.map(show).join(', ')}\n`);
    if (command.verbosity >= 1) for (const p of host.props) io.stdout.write(`  - ${p.desc}\n`);
  }
  return code;
}
