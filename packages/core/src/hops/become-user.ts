/**
 * The hop `asUser` adds: become another user on the same target. As root that is
 * runuser(1), which needs no password; otherwise sudo without a password prompt, so a
 * missing sudo rule fails at once instead of hanging.
 */
import type { Hop } from '../connection.js';

export function becomeUser(user: string, fromUid: number): Hop {
  const viaRunuser = fromUid === 0;
  return {
    kind: viaRunuser ? 'runuser' : 'sudo',
    describe: () => (viaRunuser ? `runuser:${user}` : `sudo:${user}`),
    localRoot: (outer) => outer,
    wrap: (inner) =>
      viaRunuser ? ['runuser', '-u', user, '--', ...inner] : ['sudo', '-n', '-H', '-u', user, '--', ...inner],
  };
}
