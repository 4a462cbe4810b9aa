import type { ProbeQuery } from '../connection.js';
import type { Propapp } from '../property.js';

/** Every path the tree's checks will read, so one batched probe can fetch them all. */
export function collectPrefetch(node: Propapp, out: ProbeQuery[] = []): ProbeQuery[] {
  const queries = node.prefetch?.();
  if (queries) out.push(...queries);
  for (const child of node.children) collectPrefetch(child, out);
  return out;
}
