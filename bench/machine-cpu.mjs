// CPU time the whole machine spent busy, from /proc/stat: what a deploy costs including
// the processes it does not reap itself (the forker that enters containers, and its
// copies, outlive the CLI by a moment; LXC's monitors answer it). The test machine is
// otherwise idle (~3% of a core: the idle containers, kernel threads).
import { readFileSync } from 'node:fs';

/** Milliseconds of CPU (all cores) spent outside idle, iowait and steal since boot. */
export function machineBusyMs() {
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/);
  return [user, nice, system, irq, softirq].reduce((a, b) => a + Number(b), 0) * 10; // USER_HZ is 100
}
