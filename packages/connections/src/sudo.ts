/**
 * sudo: become another user (root by default). Without a password, `sudo -n` fails at
 * once where a password would be needed. With one, it is fetched once per hop and fed
 * on stdin (`-S`), never in argv or the environment; a sentinel line after it lets the
 * wrapper discard the password whether or not sudo asked for it, so it can never
 * reach the agent as a request.
 */
import { randomBytes } from 'node:crypto';
import type { Hop } from '@consfig/core';

export interface SudoOptions {
  user?: string;
  /** The deploying user's password: text, or a function asked once. */
  password?: string | (() => string | Promise<string>);
}

const SKIP_TO_SENTINEL = 'while IFS= read -r __c_l; do [ "$__c_l" = "$1" ] && break; done; shift; exec "$@"';

export function sudo(options: SudoOptions | string = {}): Hop {
  const o = typeof options === 'string' ? { user: options } : options;
  const user = o.user ?? 'root';
  const sentinel = `consfig-sudo-${randomBytes(12).toString('hex')}`;
  let password: Promise<string> | undefined;
  return {
    kind: 'sudo',
    describe: () => (user === 'root' ? 'sudo' : `sudo:${user}`),
    localRoot: (outer) => outer,
    wrap(inner) {
      if (o.password === undefined) return ['sudo', '-n', '-H', '-u', user, '--', ...inner];
      return ['sudo', '-S', '-p', '', '-H', '-u', user, '--', 'sh', '-c', SKIP_TO_SENTINEL, 'sh', sentinel, ...inner];
    },
    async preamble() {
      if (o.password === undefined) return undefined;
      const source = o.password;
      password ??= Promise.resolve(typeof source === 'string' ? source : source());
      const text = await password;
      if (text.includes('\n')) throw new TypeError('a sudo password cannot contain a newline');
      return Buffer.from(`${text}\n${sentinel}\n`);
    },
  };
}
