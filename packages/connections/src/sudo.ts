/**
 * sudo: become another user (root by default). Without a password, `sudo -n` fails at
 * once where a password would be needed. With one, it is fetched once per hop and fed
 * on stdin (`-S`), never in argv or the environment; a sentinel line after it lets the
 * wrapper discard the password whether or not sudo asked for it, so it can never
 * reach the agent as a request.
 *
 * The password is text, a function, prerequisite data (`{ data: [iden1, iden2] }`, from
 * the deployment's data sources), or `'ask'`: the person at the terminal is asked, not
 * echoed (the CLI asks on /dev/tty; `consfig -K` asks for every sudo hop without one).
 */
import { userInfo } from 'node:os';
import { ConsfigError, InvalidHopError, randomHex, type Hop, type HopContext } from '@consfig/core/hop';

export type SudoPassword = string | (() => string | Promise<string>) | { data: readonly [string, string] } | 'ask';

export interface SudoOptions {
  user?: string;
  /** The deploying user's password (see the module comment for the forms). */
  password?: SudoPassword;
}

const SKIP_TO_SENTINEL = 'while IFS= read -r __c_l; do [ "$__c_l" = "$1" ] && break; done; shift; exec "$@"';

async function fetchPassword(source: SudoPassword, context: HopContext): Promise<string> {
  if (typeof source === 'function') return source();
  if (typeof source === 'object') {
    if (!context.data)
      throw new ConsfigError(
        `${context.chain}: the sudo password is prerequisite data, but this connection has no data sources`,
      );
    return (await context.data(source.data[0], source.data[1])).toString('utf8').replace(/\n$/, '');
  }
  if (source !== 'ask') return source;
  if (!context.ask) {
    throw new ConsfigError(
      `${context.chain}: sudo needs a password and there is nobody to ask (no terminal): ` +
        'give it as prerequisite data, or run consfig on a terminal',
    );
  }
  // As sudo's own prompt reads, saying where when it is not on this machine.
  const where =
    context.position === 0
      ? `${userInfo().username}`
      : `the user at ${context.chain.replace(/ \u2192 [^\u2192]*$/, '')}`;
  return context.ask(`[sudo] password for ${where}: `);
}

export function sudo(options: SudoOptions | string = {}): Hop {
  const o = typeof options === 'string' ? { user: options } : options;
  const user = o.user ?? 'root';
  const sentinel = `consfig-sudo-${randomHex(12)}`;
  let password: Promise<string> | undefined;
  const source = (context: HopContext): SudoPassword | undefined =>
    o.password ?? (context.askPasswords ? 'ask' : undefined);
  return {
    kind: 'sudo',
    describe: () => (user === 'root' ? 'sudo' : `sudo:${user}`),
    localRoot: (outer) => outer,
    wrap(inner, context) {
      if (source(context) === undefined) return ['sudo', '-n', '-H', '-u', user, '--', ...inner];
      return ['sudo', '-S', '-p', '', '-H', '-u', user, '--', 'sh', '-c', SKIP_TO_SENTINEL, 'sh', sentinel, ...inner];
    },
    explain: (stderr) =>
      /a password is required/.test(stderr)
        ? 'consfig -K asks for the password on the terminal; or give it: sudo({ password })'
        : undefined,
    async preamble(context) {
      const from = source(context);
      if (from === undefined) return undefined;
      password ??= fetchPassword(from, context);
      // A password that could not be had is asked (or fetched) again next time.
      const text = await password.catch((error: unknown) => {
        password = undefined;
        throw error;
      });
      if (text.includes('\n')) throw new InvalidHopError('sudo', 'a sudo password cannot contain a newline');
      return Buffer.from(`${text}\n${sentinel}\n`);
    },
  };
}
