/**
 * Milliseconds on a monotonic clock, as `performance.now()` gives, without it: the
 * `performance` global loads node:perf_hooks on first use (~1 ms of a run's start here).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
