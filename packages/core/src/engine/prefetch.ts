import type { Connection, ProbeQuery } from '../connection.js';
import type { Propapp } from '../property.js';

/** Every path the tree's checks will read, so one batched probe can fetch them all. */
export function collectPrefetch(node: Propapp, out: ProbeQuery[] = []): ProbeQuery[] {
  const queries = node.prefetch?.();
  if (queries) out.push(...queries);
  for (const child of node.children) collectPrefetch(child, out);
  return out;
}

/** Fetch, in one batched probe, what the checks of the tree will read. */
export async function prefetchChecks(conn: Connection, root: Propapp): Promise<void> {
  const queries = collectPrefetch(root);
  if (queries.length > 0) await conn.probe(queries);
}
