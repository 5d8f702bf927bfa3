/**
 * Node's timers hold a signed 32-bit delay: `setTimeout(fn, 2 ** 31)` fires
 * after 1 ms (with a `TimeoutOverflowWarning`), so a deadline of a month
 * would force a stop at once. Durations up to a year are accepted (the
 * library's `MAX_DURATION_MS`); past ~24.8 days a timer waits the longest
 * it can, which for a stop or a check is the same as never.
 *
 * @module
 */

/** The longest delay a node timer keeps, ms (2^31 - 1, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @internal `ms` as a delay node's timers keep.
 *
 * @example
 * ```ts
 * setTimeout(force, timerMs(deadlineMs)).unref();
 * ```
 */
export function timerMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}
