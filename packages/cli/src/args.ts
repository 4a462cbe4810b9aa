/** Command-line parsing (node:util parseArgs) into a typed command. */
import { parseArgs } from 'node:util';
import { ConsfigError } from '@consfig/core';
import type { ReporterName } from './reporters/index.js';

export class UsageError extends ConsfigError {
  override readonly code = 'CONSFIG_USAGE';
}

export interface CommonOptions {
  config: string | undefined;
  verbosity: number;
  reporter: ReporterName | undefined;
  color: boolean | undefined;
  /** Seconds ssh masters outlive the run (the hops' keepConnections). */
  sshPersist: number | undefined;
  /** Ask at the terminal for the password of every sudo hop that has none. */
  askSudoPass: boolean;
}

export type Command =
  | ({
      name: 'deploy' | 'check';
      hosts: string[];
      parallel: number;
      via: string | undefined;
      exitCode: boolean;
      /** Seconds to wait for another deployment's lock on a target. */
      lockWait: number | undefined;
    } & CommonOptions)
  | ({ name: 'hosts'; hosts: string[]; json: boolean } & CommonOptions)
  | ({ name: 'run'; host: string; argv: string[]; via: string | undefined } & CommonOptions)
  | { name: 'help'; topic?: string }
  | { name: 'version' };

export const HELP = `consfig: declarative configuration of Linux hosts, containers and VMs

Usage:
  consfig deploy [HOST-GLOB...]   apply the hosts' properties (@TAG: the hosts tagged so)
  consfig check  [HOST-GLOB...]   dry run: run the checks, change nothing, show diffs
  consfig hosts  [HOST-GLOB...]   list hosts, their chains and hostattrs
  consfig run HOST -- ARGV...     run one command on a host

Options:
  -c, --config FILE     the consfig (default: consfig.ts here or above)
  -p, --parallel N      hosts at once (default 10)
      --via CHAIN       reach the hosts this way instead (e.g. local, "ssh:root@web1 sudo")
  -v, -vv, --verbose    show unchanged properties and diffs; -vv commands and their output
      --json            NDJSON events on stdout (same as --reporter json)
      --reporter NAME   tty, plain or json (default: tty on a terminal, else plain)
      --color, --no-color  colours or none (default: on a terminal, unless NO_COLOR
                        or TERM=dumb; FORCE_COLOR=1 or 0 decides before those)
      --exit-code       check: exit 3 when something would change
      --lock-wait S     wait S seconds (default 300) for another deployment of a
                        target to end before failing that host
      --ssh-persist S   keep ssh masters S seconds for the next run (CONSFIG_SSH_PERSIST)
  -K, --ask-sudo-pass   ask on the terminal (once) for the password of sudo hops
                        that have none (not echoed)
  -h, --help            this text
      --version         the version

Environment: CONSFIG_SSH_PERSIST=S as --ssh-persist; CONSFIG_LXC_PERSIST=S keeps the
agents entered into containers (lxc hops first in their chain) S seconds for the next run.

Exit codes: 0 ok, 2 a property failed, 4 a host was unreachable (2|4 = 6 both),
3 check --exit-code found changes, 1 usage or internal error, 130 interrupted.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  parallel: { type: 'string', short: 'p' },
  via: { type: 'string' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  json: { type: 'boolean' },
  reporter: { type: 'string' },
  'no-color': { type: 'boolean' },
  color: { type: 'boolean' },
  'exit-code': { type: 'boolean' },
  'ssh-persist': { type: 'string' },
  'lock-wait': { type: 'string' },
  'ask-sudo-pass': { type: 'boolean', short: 'K' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\. To specify.*$/, '') : String(error));
  }
  const { values, positionals } = parsed;
  if (values.version) return { name: 'version' };
  const [name, ...rest] = positionals;
  if (values.help || name === undefined || name === 'help')
    return { name: 'help', ...(rest[0] ? { topic: rest[0] } : {}) };

  let reporter: ReporterName | undefined;
  if (values.json) reporter = 'json';
  if (values.reporter !== undefined) {
    if (!['tty', 'plain', 'json'].includes(values.reporter)) {
      throw new UsageError(`unknown reporter ${JSON.stringify(values.reporter)} (tty, plain or json)`);
    }
    reporter = values.reporter as ReporterName;
  }
  const persist = values['ssh-persist'];
  if (persist !== undefined && !/^[1-9]\d*$/.test(persist)) {
    throw new UsageError(`--ssh-persist needs a whole number of seconds, not ${JSON.stringify(persist)}`);
  }
  const common: CommonOptions = {
    config: values.config,
    sshPersist: persist === undefined ? undefined : Number(persist),
    verbosity: values.verbose?.length ?? 0,
    reporter,
    color: values['no-color'] ? false : values.color ? true : undefined,
    askSudoPass: values['ask-sudo-pass'] ?? false,
  };
  switch (name) {
    case 'deploy':
    case 'check': {
      const parallel = values.parallel === undefined ? 10 : Number(values.parallel);
      if (!Number.isInteger(parallel) || parallel < 1) {
        throw new UsageError(`--parallel needs a whole number of at least 1, not ${JSON.stringify(values.parallel)}`);
      }
      const lockWait = values['lock-wait'];
      if (lockWait !== undefined && !/^\d+(\.\d+)?$/.test(lockWait)) {
        throw new UsageError(`--lock-wait needs a number of seconds, not ${JSON.stringify(lockWait)}`);
      }
      return {
        name,
        hosts: rest,
        parallel,
        via: values.via,
        exitCode: values['exit-code'] ?? false,
        lockWait: lockWait === undefined ? undefined : Number(lockWait),
        ...common,
      };
    }
    case 'hosts':
      return { name, hosts: rest, json: values.json ?? false, ...common };
    case 'run': {
      const [host, ...command] = rest;
      if (!host || command.length === 0) throw new UsageError('usage: consfig run HOST -- ARGV...');
      return { name, host, argv: command, via: values.via, ...common };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)} (deploy, check, hosts, run; see --help)`);
  }
}
