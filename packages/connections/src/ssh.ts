/**
 * ssh: the OpenSSH client, so ~/.ssh/config (ProxyJump, Match, agents) applies. As the
 * first hop it opens a private ControlMaster in a 0700 temp directory, kept for the
 * deployment (ControlPersist), so further chains to the same host (asUser, other hops)
 * are multiplexed; `ssh -O exit` closes it when the connection ends.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellJoin, type Hop } from '@consfig/core';

export interface SshOptions {
  host: string;
  user?: string;
  port?: number;
  /** Extra client arguments, e.g. `['-i', key, '-o', 'UserKnownHostsFile=…']`. */
  options?: readonly string[];
  /** An ssh_config file instead of ~/.ssh/config (`-F`). */
  configFile?: string;
  /** Seconds the multiplexing master outlives its last session (default 60). */
  controlPersist?: number;
}

/** `[user@]host[:port]`. */
export function parseSshTarget(text: string): SshOptions {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new TypeError(`ssh target ${JSON.stringify(text)} is not [user@]host[:port]`);
  const [, user, host, port] = m;
  return {
    host: host!.replace(/^\[(.*)\]$/, '$1'),
    ...(user ? { user } : {}),
    ...(port ? { port: Number(port) } : {}),
  };
}

export function ssh(target: string | SshOptions): Hop {
  const o = typeof target === 'string' ? parseSshTarget(target) : target;
  if (!o.host || o.host.startsWith('-')) throw new TypeError(`bad ssh host ${JSON.stringify(o.host)}`);
  let controlDir: string | undefined;
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
        controlDir ??= mkdtempSync(join(tmpdir(), 'consfig-ssh-'));
        mux.push(
          '-o', 'ControlMaster=auto',
          '-o', `ControlPath=${join(controlDir, 'cm')}`,
          '-o', `ControlPersist=${o.controlPersist ?? 60}`,
        );
      }
      // ssh joins its command arguments into one line for the remote login shell.
      return ['ssh', '-T', '-o', 'BatchMode=yes', ...mux, ...common(), '--', o.host, shellJoin(inner)];
    },
    async cleanup() {
      if (!controlDir) return;
      const dir = controlDir;
      controlDir = undefined;
      await new Promise<void>((resolve) => {
        execFile('ssh', ['-o', `ControlPath=${join(dir, 'cm')}`, ...common(), '-O', 'exit', '--', o.host], () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
