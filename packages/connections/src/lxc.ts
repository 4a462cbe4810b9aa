/**
 * lxc: run the agent inside a running LXC container, unprivileged ones included, by
 * entering its init's namespaces with nsenter (only those that differ, user first) and
 * the init's environment. Where the deploying user is not the container's owner (root
 * deploying a user's container), it first becomes the owner with su, whose PAM session
 * delegates cgroups on machines without systemd. Without nsenter it falls back to
 * lxc-attach. A container that is not running is reported as such at once.
 */
import { shellJoin, type Hop } from '@consfig/core';
import { ENTER } from './nsenter.js';

export interface LxcOptions {
  name: string;
  /** The user whose container it is (default: whoever the chain runs as). */
  owner?: string;
  /** The owner's lxcpath (default: LXC's own, ~/.local/share/lxc for a user). */
  lxcpath?: string;
  /** How to enter: nsenter (default; lxc-attach where nsenter is missing) or lxc-attach. */
  method?: 'nsenter' | 'attach';
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const BECOME_OWNER = String.raw`owner=$1; again=$2; shift 2
if [ -n "$owner" ] && [ "$(id -un)" != "$owner" ]; then exec su "$owner" -s /bin/sh -c "$again"; fi
exec "$@"`;

const FIND_AND_ENTER = String.raw`name=$1; lxcpath=$2; method=$3; enter=$4; shift 4
info() { if [ -n "$lxcpath" ]; then lxc-info -P "$lxcpath" -n "$name" "$@"; else lxc-info -n "$name" "$@"; fi; }
pid=$(info -p -H 2>/dev/null)
if [ -z "$pid" ]; then
  state=$(info -s -H 2>&1)
  echo "lxc: container $name of $(id -un) is not running (${'$'}{state:-unknown})" >&2
  exit 112
fi
if [ "$method" = attach ] || ! command -v nsenter >/dev/null 2>&1; then
  if [ -n "$lxcpath" ]; then exec lxc-attach -P "$lxcpath" -n "$name" --clear-env -- "$@"; fi
  exec lxc-attach -n "$name" --clear-env -- "$@"
fi
envs=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null)
IFS='
'
set -f
set -- "$pid" '' -- env -i ${DEFAULT_PATH} HOME=/root $envs "$@"
unset IFS
set +f
exec sh -c "$enter" consfig-nsenter "$@"`;

export function lxc(options: LxcOptions | string): Hop {
  const o = typeof options === 'string' ? parseLxcTarget(options) : options;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.name)) throw new TypeError(`lxc: ${JSON.stringify(o.name)} is not a container name`);
  if (o.owner !== undefined && !/^[a-z_][a-z0-9_.-]*$/i.test(o.owner)) throw new TypeError(`lxc: bad owner ${JSON.stringify(o.owner)}`);
  return {
    kind: 'lxc',
    describe: () => `lxc:${o.name}${o.owner ? `@${o.owner}` : ''}`,
    wrap(inner) {
      const enter = ['sh', '-c', FIND_AND_ENTER, 'consfig-lxc', o.name, o.lxcpath ?? '', o.method ?? 'nsenter', ENTER, ...inner];
      return ['sh', '-c', BECOME_OWNER, 'consfig-lxc-owner', o.owner ?? '', shellJoin(enter), ...enter];
    },
  };
}

/** `NAME` or `NAME@OWNER`. */
export function parseLxcTarget(text: string): LxcOptions {
  const [name, owner] = text.split('@');
  return { name: name!, ...(owner ? { owner } : {}) };
}
