/**
 * Prints the plain closing line `N passed, N failed, N skipped` after vitest's own
 * output, so CI logs state the count in a runner-neutral form.
 */
import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

function count(tasks: readonly Task[], tally: { passed: number; failed: number; skipped: number }) {
  for (const task of tasks) {
    if (task.tasks) count(task.tasks, tally);
    if (task.type !== 'test') continue;
    const state = task.result?.state;
    if (state === 'pass') tally.passed++;
    else if (state === 'fail') tally.failed++;
    else tally.skipped++;
  }
  return tally;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = [], errors: readonly unknown[] = []): void {
    const tally = count(files, { passed: 0, failed: 0, skipped: 0 });
    const failed = tally.failed + errors.length;
    process.stdout.write(`\ntests: ${tally.passed} passed, ${failed} failed, ${tally.skipped} skipped\n`);
  }
}
