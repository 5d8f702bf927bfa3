/**
 * Durations past node's 32-bit timer range. `setTimeout(fn, 2 ** 31)` fires
 * after 1 ms (with a `TimeoutOverflowWarning`); every duration option of
 * scaleout accepts up to a year.
 */

/** ~35 days: above 2^31 - 1 ms, below the library's one-year cap. */
export const PAST_TIMER_RANGE_MS = 35 * 24 * 60 * 60 * 1000;

/** Counts the `TimeoutOverflowWarning`s node emits until `stop()`. */
export function watchTimerOverflow(): { readonly count: number; stop(): void } {
  let count = 0;
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning') count++;
  };
  process.on('warning', onWarning);
  return {
    get count() {
      return count;
    },
    stop: () => {
      process.off('warning', onWarning);
    },
  };
}

/** Whether `promise` is still pending after `ms` of real time. */
export async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}
