/**
 * ssh: the OpenSSH client, so ~/.ssh/config (ProxyJump, Match, agents) applies. As the
 * first hop it multiplexes the chains to the same host (asUser, other hops) over one
 * ControlMaster. By default that master is private (a 0700 temp directory) and is the
 * connection's own ssh process, not a daemon: it ends when the last session over it
 * ends, so it cannot outlive consfig, whether a later hop fails or consfig is killed.
 * With `persist` (or CONSFIG_SSH_PERSIST) it lives in a directory later runs share and
 * outlives the run by that many seconds, so a re-deploy soon after skips the key
 * exchange and authentication.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidHopError, shellJoin, type Hop } from '@consfig/core/hop';
import { keptSeconds, persistFromEnv, sharedDir } from './kept-for-later.js';

export interface SshOptions {
  host: string;
  user?: string;
  port?: number;
  /** Extra client arguments, e.g. `['-i', key, '-o', 'UserKnownHostsFile=…']`. */
  options?: readonly string[];
  /** An ssh_config file instead of ~/.ssh/config (`-F`). */
  configFile?: string;
  /**
   * Keep the master this many seconds after the run, in a ControlPath later runs share
   * (`$XDG_RUNTIME_DIR/consfig-ssh` or `~/.cache/consfig/ssh`). Default: the environment's
   * CONSFIG_SSH_PERSIST, else none (a private master closed at the end). A run's
   * `keepConnections` (consfig --ssh-persist) overrides it.
   */
  persist?: number;
}

/** `[user@]host[:port]`. */
export function parseSshTarget(text: string): SshOptions {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new InvalidHopError('ssh', `ssh target ${JSON.stringify(text)} is not [user@]host[:port]`);
  const [, user, host, port] = m;
  return {
    host: host!.replace(/^\[(.*)\]$/, '$1'),
    ...(user ? { user } : {}),
    ...(port ? { port: Number(port) } : {}),
  };
}

const PRIVATE_DIR = /^consfig-ssh-(\d+)-/;

/**
 * A private directory for this process's masters. Those of processes that are gone (a
 * killed consfig never removed its own) are removed first.
 */
function privateControlDir(): string {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(PRIVATE_DIR.exec(name)?.[1] ?? 0);
    if (pid === 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
  return mkdtempSync(join(tmpdir(), `consfig-ssh-${process.pid}-`));
}

export function ssh(target: string | SshOptions): Hop {
  const o = typeof target === 'string' ? parseSshTarget(target) : target;
  if (!o.host || o.host.startsWith('-')) throw new InvalidHopError('ssh', `bad ssh host ${JSON.stringify(o.host)}`);
  keptSeconds('ssh', 'persist', o.persist);
  let controlDir: string | undefined;
  let sharedControlDir: string | undefined;
  const common = () => [
    ...(o.configFile ? ['-F', o.configFile] : []),
    ...(o.port ? ['-p', String(o.port)] : []),
    ...(o.user ? ['-l', o.user] : []),
    ...(o.options ?? []),
  ];
  const describe = () => `ssh:${o.user ? `${o.user}@` : ''}${o.host}${o.port ? `:${o.port}` : ''}`;
  return {
    kind: 'ssh',
    remote: true,
    describe,
    wrap(inner, context) {
      const mux: string[] = [];
      if (context.position === 0) {
        // The run's setting (consfig --ssh-persist) wins over the hop's and the environment's.
        // (0 would be ssh's "for ever")
        const persist =
          keptSeconds('ssh', 'keepConnections', context.keepConnections) ??
          o.persist ??
          persistFromEnv('CONSFIG_SSH_PERSIST', 'ssh');
        // %C: a hash of the local host and the remote host, port and user.
        const path =
          persist !== undefined
            ? join((sharedControlDir ??= sharedDir('ssh', 'shared masters')), '%C')
            : join((controlDir ??= privateControlDir()), 'cm');
        // A private master stays in the foreground (no ControlPersist): the first chain's
        // ssh, which waits for the other sessions over it and then ends.
        mux.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${path}`, '-o', `ControlPersist=${persist ?? 'no'}`);
      }
      // ssh joins its command arguments into one line for the remote login shell.
      return ['ssh', '-T', '-o', 'BatchMode=yes', ...mux, ...common(), '--', o.host, shellJoin(inner)];
    },
    async cleanup() {
      if (!controlDir) return; // a shared master stays for the next run
      const dir = controlDir;
      controlDir = undefined;
      // Normally gone with its last session; this is for a chain that never got that far.
      // child_process, not execa: loading execa would add ~0.1 s to every ssh run's end;
      // and loaded here, where few runs come (~1 ms of every start otherwise).
      const { execFile } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
      await new Promise<void>((resolve) => {
        const args = ['-o', `ControlPath=${join(dir, 'cm')}`, ...common(), '-O', 'exit', '--', o.host];
        execFile('ssh', args, { timeout: 10_000 }, () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
