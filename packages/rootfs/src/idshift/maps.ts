/**
 * uid/gid maps between a user namespace and its parent, as in /proc/PID/uid_map:
 * `inside outside count`. The default for a user is its first /etc/subuid and
 * /etc/subgid ranges, mapped from 0.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, PropertyFailedError } from '@consfig/core/property';

export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMaps {
  uid: readonly IdRange[];
  gid: readonly IdRange[];
}

/** The id outside for `id` inside, or undefined when no range holds it. */
export function mapId(ranges: readonly IdRange[], id: number): number | undefined {
  for (const r of ranges) if (id >= r.inside && id < r.inside + r.count) return r.outside + (id - r.inside);
  return undefined;
}

/** The same maps read the other way (outside → inside), for shifting back. */
export function invertMaps(maps: IdMaps): IdMaps {
  const flip = (rs: readonly IdRange[]) => rs.map((r) => ({ inside: r.outside, outside: r.inside, count: r.count }));
  return { uid: flip(maps.uid), gid: flip(maps.gid) };
}

/** Whether some id is both a source and a target: then a half-done shift cannot be told apart. */
export function overlaps(ranges: readonly IdRange[]): boolean {
  return ranges.some((a) => ranges.some((b) => a.inside < b.outside + b.count && b.outside < a.inside + a.count));
}

/** `inside:outside:count` (several separated by commas). */
export function parseRanges(spec: string): IdRange[] {
  return spec.split(',').map((part) => {
    const m = /^\s*(\d+):(\d+):(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError('id maps', 'map', `${JSON.stringify(part)} is not inside:outside:count`);
    return { inside: Number(m[1]), outside: Number(m[2]), count: Number(m[3]) };
  });
}

/** The ranges /etc/subuid (or subgid) gives `user` (by name or uid). */
export function subordinateRanges(text: string, user: string, uid?: number): { start: number; count: number }[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(':'))
    .filter(([who, start, count]) => (who === user || (uid !== undefined && who === String(uid))) && start && count)
    .map(([, start, count]) => ({ start: Number(start), count: Number(count) }));
}

/** The maps an unprivileged container of `user` gets by default: 0 → its first subordinate range. */
export function defaultMapsFor(user: string, files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): IdMaps {
  const first = (file: string, what: string) => {
    const [range] = subordinateRanges(readFileSync(file, 'utf8'), user);
    if (!range) throw new PropertyFailedError(`${user} has no ${what} range in ${file}`);
    return [{ inside: 0, outside: range.start, count: range.count }];
  };
  return { uid: first(files.subuid, 'subordinate uid'), gid: first(files.subgid, 'subordinate gid') };
}
