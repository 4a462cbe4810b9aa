/**
 * su and runuser: become another user when already root. runuser(1) is the plain way;
 * su(1) goes through PAM's session stack, which on machines without systemd is what
 * delegates cgroups to the user (pam_cgfs), as unprivileged LXC needs.
 */
import { InvalidHopError, shellJoin, type Hop } from '@consfig/core/hop';

const USER = /^[a-z_][a-z0-9_.-]*\$?$/i;

function checkUser(kind: string, user: string): void {
  if (!USER.test(user)) throw new InvalidHopError(kind, `${kind}: ${JSON.stringify(user)} is not a user name`);
}

export function su(user: string, options: { login?: boolean } = {}): Hop {
  checkUser('su', user);
  return {
    kind: 'su',
    describe: () => `su:${user}`,
    localRoot: (outer) => outer,
    wrap: (inner) => ['su', ...(options.login ? ['-l'] : []), '-s', '/bin/sh', '-c', shellJoin(inner), user],
  };
}

export function runuser(user: string): Hop {
  checkUser('runuser', user);
  return {
    kind: 'runuser',
    describe: () => `runuser:${user}`,
    localRoot: (outer) => outer,
    wrap: (inner) => ['runuser', '-u', user, '--', ...inner],
  };
}
