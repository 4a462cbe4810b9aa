/**
 * A user namespace's id maps (/proc/PID/uid_map, gid_map: "inside outside count" lines),
 * and ids translated through them as the kernel does for a process in that namespace.
 */

export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

/** The ranges of a uid_map or gid_map file. */
export function parseIdMap(text: string): IdRange[] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
}

/** The id inside for `outside`, or undefined where it has no mapping. */
export function inside(map: readonly IdRange[], outside: number): number | undefined {
  const r = map.find((m) => outside >= m.outside && outside < m.outside + m.count);
  return r ? r.inside + (outside - r.outside) : undefined;
}

/** The id outside for `id` inside, or undefined where it has no mapping. */
export function outsideOf(map: readonly IdRange[], id: number): number | undefined {
  const r = map.find((m) => id >= m.inside && id < m.inside + m.count);
  return r ? r.outside + (id - r.inside) : undefined;
}
