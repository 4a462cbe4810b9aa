/**
 * lxc: run the agent inside a running LXC container, unprivileged ones included, by
 * entering its init's namespaces with nsenter (only those that differ, user first) and
 * the init's environment. Where the deploying user is not the container's owner (root
 * deploying a user's container), it first becomes the owner: with setpriv when root
 * enters by nsenter, with su otherwise, whose PAM session delegates cgroups on machines
 * without systemd. Without nsenter it falls back to lxc-attach. A container that is not
 * running is reported as such at once. Where it can, one perl helper does all of it
 * (lxc-enter.ts); the shell way here is its fallback.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildIdOf,
  coreBuildId,
  fnv1a64Hex,
  InvalidHopError,
  shellJoin,
  uidOf,
  type Hop,
  type HopContext,
} from '@consfig/core/hop';
import { initPidFromMonitor } from './lxc-monitor.js';
import { CONTAINER_PATH, enterPerl } from './lxc-enter.js';
import { ENTER } from './nsenter.js';
import { keptSeconds, persistFromEnv, sharedDir } from './kept-for-later.js';

export interface LxcOptions {
  name: string;
  /** The user whose container it is (default: whoever the chain runs as). */
  owner?: string;
  /** The owner's lxcpath (default: LXC's own, ~/.local/share/lxc for a user). */
  lxcpath?: string;
  /** How to enter: nsenter (default; lxc-attach where nsenter is missing) or lxc-attach. */
  method?: 'nsenter' | 'attach';
  /**
   * Keep the entered agent this many seconds after the run, for the runs after it: the
   * helper that enters leaves a server in the container, listening on a socket in this
   * user's `$XDG_RUNTIME_DIR/consfig-lxc` (or `~/.cache/consfig/lxc`), which forks an
   * agent for each later chain, so those start nothing and enter nothing. Only where this
   * hop is first in its chain (its socket is on this machine) and enters by nsenter.
   * Default: the environment's CONSFIG_LXC_PERSIST, else none.
   */
  persist?: number;
}

const DEFAULT_PATH = `PATH=${CONTAINER_PATH}`;

// Root becomes the owner with setpriv where entering needs no more than the owner's
// ids (nsenter: ~3 ms, against ~13 ms for su's PAM session); lxc-attach moves into the
// container's cgroup, which needs su's pam_cgfs session on machines without systemd.
// The owner's ids come from /etc/passwd read by builtins; elsewhere (NSS) su does it.
const BECOME_OWNER = String.raw`owner=$1; again=$2; method=$3; shift 3
[ -n "$owner" ] || exec "$@"
while read -r key uid _; do [ "$key" = Uid: ] && break; done < /proc/$$/status
if [ "$uid" = 0 ]; then
  [ "$owner" = root ] && exec "$@"
  ouid=
  if [ "$method" != attach ] && command -v setpriv >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1; then
    while IFS=: read -r user _ ouid ogid _; do [ "$user" = "$owner" ] && break; ouid=; done < /etc/passwd
  fi
  [ -z "$ouid" ] || exec setpriv --reuid="$ouid" --regid="$ogid" --init-groups --reset-env "$@"
elif [ "$(id -un)" = "$owner" ]; then
  exec "$@"
fi
# su keeps the environment: not the deploying user's session directory and bus, though.
unset XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS
exec su "$owner" -s /bin/sh -c "$again"`;

// The init's environment, one variable a line, read where it can be: the owner of an
// unprivileged container cannot open /proc/PID/environ from outside (the file belongs to
// the container's root, and the owner has no capabilities out here), but can once inside
// its user namespace, where the init is PID 1.
const WITH_INIT_ENV = String.raw`envs=$(tr '\0' '\n' < /proc/1/environ 2>/dev/null)
IFS='
'
set -f
exec env -i ${DEFAULT_PATH} HOME=/root $envs "$@"`;

const FIND_AND_ENTER = String.raw`name=$1; lxcpath=$2; method=$3; enter=$4; initenv=$5; shift 5
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
if [ -r "/proc/$pid/environ" ] && envs=$(tr '\0' '\n' < "/proc/$pid/environ"); then
  IFS='
'
  set -f
  set -- "$pid" '' -- env -i ${DEFAULT_PATH} HOME=/root $envs "$@"
  unset IFS
  set +f
else
  set -- "$pid" '' -- sh -c "$initenv" consfig-init-env "$@"
fi
exec sh -c "$enter" consfig-nsenter "$@"`;

export function lxc(options: LxcOptions | string): Hop {
  const o = typeof options === 'string' ? parseLxcTarget(options) : options;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.name))
    throw new InvalidHopError('lxc', `lxc: ${JSON.stringify(o.name)} is not a container name`);
  if (o.owner !== undefined && !/^[a-z_][a-z0-9_.-]*$/i.test(o.owner))
    throw new InvalidHopError('lxc', `lxc: bad owner ${JSON.stringify(o.owner)}`);
  keptSeconds('lxc', 'persist', o.persist);
  if (o.persist !== undefined && o.method === 'attach')
    throw new InvalidHopError('lxc', 'lxc: persist keeps an agent entered by nsenter, not by lxc-attach');
  // The kept agent's socket: where this hop is first, so on this machine.
  let socket: { code: string; path: string } | undefined;
  // The environment's setting where the hop has none (the text form has no place for one).
  const persist = () => o.persist ?? (o.method === 'attach' ? undefined : persistFromEnv('CONSFIG_LXC_PERSIST', 'lxc'));
  const keptAt = (inner: readonly string[], context: HopContext): string | undefined => {
    if (persist() === undefined || context.position !== 0) return undefined;
    const code = codeHash(context.front === true, inner);
    if (socket?.code !== code) socket = { code, path: keptAgentSocket(o, code) };
    return socket.path === '' ? undefined : socket.path;
  };
  // Root deploying: the container's init, from its monitor, whose root consfig then reads.
  const targetPid = async (): Promise<number | undefined> => {
    if (process.getuid?.() !== 0 || o.lxcpath === undefined) return undefined;
    const ownerUid = o.owner === undefined ? 0 : uidOf(o.owner);
    if (ownerUid === undefined) return undefined;
    const pid = await initPidFromMonitor(o.name, o.lxcpath, ownerUid);
    return pid !== undefined && existsSync(`/proc/${pid}`) ? pid : undefined;
  };
  const wrap: Hop['wrap'] = (inner, context) => {
    const enter = [
      'sh',
      '-c',
      FIND_AND_ENTER,
      'consfig-lxc',
      o.name,
      o.lxcpath ?? '',
      o.method ?? 'nsenter',
      ENTER,
      WITH_INIT_ENV,
      ...inner,
    ];
    const shellWay = [
      'sh',
      '-c',
      BECOME_OWNER,
      'consfig-lxc-owner',
      o.owner ?? '',
      shellJoin(enter),
      o.method ?? 'nsenter',
      ...enter,
    ];
    if (o.method === 'attach') return shellWay;
    return [
      'perl',
      '-e',
      enterPerl(context.front === true),
      '--',
      o.owner ?? '',
      o.name,
      o.lxcpath ?? '',
      keptAt(inner, context) ?? '',
      String(persist() ?? 0),
      String(inner.length),
      ...shellWay,
    ];
  };
  return {
    kind: 'lxc',
    describe: () => `lxc:${o.name}${o.owner ? `@${o.owner}` : ''}`,
    front: o.method !== 'attach',
    wrap,
    // The perl way is already `perl -e TEXT -- ARGS`: forked as it is where the hop is first.
    ...(o.method === 'attach' ? {} : { fork: wrap, targetPid, agentSocket: keptAt }),
  };
}

/**
 * The socket of the agent kept for `o`'s container, named after the container and a hash
 * of what tells it from others (owner, lxcpath, name) and of the code it runs (codeHash),
 * so that another version of consfig never talks to a server of this one; '' where the
 * path would be longer than a socket's address holds.
 */
function keptAgentSocket(o: LxcOptions, code: string): string {
  const key = fnv1a64Hex(o.owner ?? '', o.lxcpath ?? '', o.name, code);
  const path = join(sharedDir('lxc', 'kept agents'), `${o.name.slice(0, 32)}-${key}.sock`);
  return Buffer.byteLength(path) <= 107 ? path : '';
}

/**
 * What the kept server's code is: the builds of core (the agent, its front) and of this
 * package (the helper), whose ids the build writes; where the code runs from its sources,
 * a hash of the helper's text and the agent's argv (~1 ms the first time: a run's code is cold).
 */
const codeHashes = new Map<string, string>();
function codeHash(front: boolean, agent: readonly string[]): string {
  const core = coreBuildId();
  const own = buildIdOf(import.meta.url);
  if (core !== undefined && own !== undefined) return `${core} ${own} ${front}`;
  const key = `${front}\0${agent.join('\0')}`;
  let hash = codeHashes.get(key);
  if (hash === undefined) codeHashes.set(key, (hash = fnv1a64Hex(enterPerl(front), ...agent)));
  return hash;
}

/** `NAME` or `NAME@OWNER`. */
export function parseLxcTarget(text: string): LxcOptions {
  const [name, owner] = text.split('@');
  return { name: name!, ...(owner ? { owner } : {}) };
}
