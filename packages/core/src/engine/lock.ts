/**
 * The deployment lock: one per target, held by the agent for the whole deployment, so
 * two deployments of one machine never interleave their edits. Its file names the
 * holder; a deployment that finds it taken says so (an event) and waits a bounded time.
 * A holder in this same process (two hosts of one run on one machine) is waited for
 * without a bound: it will finish.
 */
import { randomHex } from '../random.js';
import { hostname, userInfo } from 'node:os';
import type { Connection } from '../connection.js';
import type { DeployEvent } from '../events.js';

/** How long a deployment waits for another one's lock by default. */
export const DEFAULT_LOCK_WAIT_MS = 300_000;

const RUN = randomHex(6);

let whoText: string | undefined;

/** user@host of this process: asked once per run (the user's name is an NSS lookup). */
function who(): string {
  if (whoText === undefined) {
    try {
      whoText = `${userInfo().username}@${hostname()}`;
    } catch {
      whoText = `uid ${process.getuid?.() ?? '?'}@${hostname()}`;
    }
  }
  return whoText;
}

export function holderText(host: string): string {
  const since = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return `consfig pid ${process.pid} (${who()}, run ${RUN}) deploying ${host} since ${since}`;
}

export async function lockTarget(
  conn: Connection,
  host: string,
  waitMs: number,
  emit: (event: DeployEvent) => void,
): Promise<void> {
  await conn.lock({
    holder: holderText(host),
    waitMs,
    run: `, run ${RUN})`,
    onWait: (holder, wait) => emit({ type: 'host:waiting', host, chain: conn.chainText, holder, waitMs: wait }),
  });
}
