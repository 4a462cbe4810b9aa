/**
 * nsenter: run the agent in the namespaces of a process (a container's init). Only the
 * namespaces that differ from the caller's are entered (compared where the hop runs,
 * with `test -ef` on /proc/PID/ns/NS), so shared ones (time, often cgroup) never cause
 * EPERM; nsenter(1) enters the user namespace first, then the others, and takes the
 * target's root and working directory. This runs in a single-threaded helper process:
 * Node itself can never setns(2) into a user or mount namespace.
 */
import { InvalidHopError, type Hop } from '@consfig/core/hop';

export interface NsenterOptions {
  pid: number | string;
  /** uid and gid inside the namespaces (default: nsenter's, i.e. 0 in a user namespace). */
  uid?: number;
  gid?: number;
}

/** Namespace kinds as /proc/PID/ns names them, with nsenter's flag for each; the user namespace first. */
export const KINDS: [string, string][] = [
  ['user', '-U'],
  ['mnt', '-m'],
  ['uts', '-u'],
  ['ipc', '-i'],
  ['net', '-n'],
  ['pid', '-p'],
  ['cgroup', '-C'],
  ['time', '-T'],
];

/** Enters PID's differing namespaces and execs the rest: `sh -c ENTER _ PID IDS [-S uid -G gid] -- ARGV`. */
export const ENTER = String.raw`p=$1; ids=$2; shift 2
[ -d "/proc/$p" ] || { echo "nsenter: no process $p" >&2; exit 111; }
set -- -t "$p" -r -w "$@"
for kv in ${KINDS.map(([ns, flag]) => `${ns}:${flag}`).join(' ')}; do
  ns=${'$'}{kv%%:*}; flag=${'$'}{kv#*:}
  [ -e "/proc/$p/ns/$ns" ] || continue
  [ "/proc/self/ns/$ns" -ef "/proc/$p/ns/$ns" ] || set -- "$flag" "$@"
done
# A user namespace whose setgroups is denied (unshare -r) cannot take setgroups(2):
# keep our credentials, which its map makes root there.
if [ ! "/proc/self/ns/user" -ef "/proc/$p/ns/user" ] && [ -z "$ids" ] &&
  read -r sg < "/proc/$p/setgroups" && [ "$sg" = deny ]; then
  set -- --preserve-credentials "$@"
fi
exec nsenter "$@"`;

export function nsenter(options: NsenterOptions | number | string): Hop {
  const o = typeof options === 'object' ? options : { pid: options };
  if (!/^\d+$/.test(String(o.pid)))
    throw new InvalidHopError('nsenter', `nsenter needs a PID, not ${JSON.stringify(o.pid)}`);
  const ids = [
    ...(o.uid !== undefined ? ['-S', String(o.uid)] : []),
    ...(o.gid !== undefined ? ['-G', String(o.gid)] : []),
  ];
  return {
    kind: 'nsenter',
    describe: () => `nsenter:${o.pid}`,
    wrap: (inner) => ['sh', '-c', ENTER, 'consfig-nsenter', String(o.pid), ids.join(' '), ...ids, '--', ...inner],
  };
}
