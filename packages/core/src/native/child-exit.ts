/**
 * Exit notices for children started by posix_spawn, which libuv does not know of: on every
 * SIGCHLD (libuv passes it to each listener) each such child is asked with waitpid(WNOHANG),
 * by its pid only, so children of Node's own spawn are left to libuv. A slow timer asks too,
 * in case a signal is missed, and keeps the event loop alive while a child runs (Node does
 * not count a signal listener as work).
 */
import { reap, type ExitStatus } from './posix-spawn.js';

const POLL_MS = 250;

const waiting = new Map<number, (status: ExitStatus | null) => void>();
let timer: NodeJS.Timeout | undefined;
let looking = false;

function check(): void {
  for (const [pid, done] of waiting) {
    const status = reap(pid);
    if (status === undefined) continue;
    waiting.delete(pid);
    done(status);
  }
  if (waiting.size === 0 && timer) {
    process.off('SIGCHLD', check);
    clearInterval(timer);
    timer = undefined;
  }
}

/** Call `done` once `pid` has ended (null: it was reaped elsewhere, its status is lost). */
export function onChildExit(pid: number, done: (status: ExitStatus | null) => void): void {
  waiting.set(pid, done);
  if (!timer) {
    process.on('SIGCHLD', check);
    timer = setInterval(check, POLL_MS);
  }
  // It may have ended already, its SIGCHLD gone before the listener was there: one look
  // for all started in this turn (50 chains started at once would make 50 looks at 50).
  if (!looking) {
    looking = true;
    setImmediate(() => {
      looking = false;
      check();
    });
  }
}
