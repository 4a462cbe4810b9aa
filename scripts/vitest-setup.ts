/**
 * Test files run in parallel, and many deploy to this very machine, which has one
 * deployment lock: each file gets a lock directory of its own (CONSFIG_LOCK_DIR, read by
 * local agents), as if it had a machine of its own. Chains that leave the environment
 * behind (sudo, ssh) still meet at /run/lock, as real deployments do.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.CONSFIG_LOCK_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'consfig-test-lock-'));
  chmodSync(dir, 0o1777);
  process.env.CONSFIG_LOCK_DIR = dir;
}
