import { AbortedError } from '../errors.js';

// Node's timers hold a signed 32-bit delay: `setTimeout(fn, 2 ** 31)` fires
// after 1 ms (with a `TimeoutOverflowWarning`), so a deadline of a month
// would end at once. Durations up to a year are accepted (the library's
// `MAX_DURATION_MS`), so the helpers here wait the whole duration however
// long: past MAX_TIMER_MS (~24.8 days) a wait is a chain of node timers,
// each within the range, the next armed when the one before ends (at most
// ceil(ms / MAX_TIMER_MS) of them, one armed at a time). Every timer fed
// by a user duration goes through them; `timerMs` (a cap) is only for a
// delay that may end early, such as a poll step that checks again.

/** The longest delay a node timer keeps, ms (2^31 - 1, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @internal `ms` as a delay node's timers keep (capped at {@link MAX_TIMER_MS}).
 * Only for a delay that may end early because its callback checks again
 * (a poll step, `TimeoutQueue`'s wake-up); a duration the user gave goes
 * through {@link longTimeout} and the helpers below, which wait it all.
 *
 * @example
 * ```ts
 * setTimeout(checkDue, timerMs(dueAt - performance.now())).unref();
 * ```
 */
export function timerMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}

/** A timer handle that can be cancelled. */
export interface TimerHandle {
  /** Cancels the timer; safe to call more than once. */
  cancel(): void;
}

/** Options of {@link longTimeout}. */
export interface LongTimeoutOptions {
  /** Let the process exit while waiting. @default false */
  unref?: boolean | undefined;
}

/**
 * `setTimeout` that waits the whole of `ms`, also past node's 32-bit range
 * ({@link MAX_TIMER_MS}): a longer wait re-arms for the rest, so it is a
 * chain of at most `ceil(ms / MAX_TIMER_MS)` node timers, one armed at a
 * time, each ref'd or unref'd as asked. `cancel()` stops whichever is armed.
 *
 * @example
 * ```ts
 * const deadline = longTimeout(force, deadlineMs); // holds the process until it fires
 * deadline.cancel();
 * ```
 */
export function longTimeout(fn: () => void, ms: number, options: LongTimeoutOptions = {}): TimerHandle {
  return chain(fn, ms, options.unref === true);
}

/** {@link longTimeout} without an options object (the helpers below are on hot paths). */
function chain(fn: () => void, ms: number, unref: boolean): TimerHandle {
  let left = Math.max(0, ms);
  if (!(left > MAX_TIMER_MS)) {
    const t = setTimeout(fn, left);
    if (unref) t.unref();
    return { cancel: () => clearTimeout(t) };
  }
  let timer: NodeJS.Timeout;
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fn, step);
    if (unref) timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/**
 * `setTimeout` that does not keep the process alive. For background work
 * owned by an object with `close()`. Waits the whole of `ms`, however long
 * (see {@link longTimeout}).
 */
export function unrefTimeout(fn: () => void, ms: number): TimerHandle {
  return chain(fn, ms, true);
}

/**
 * `setInterval` that does not keep the process alive. For background work
 * owned by an object with `close()`. A period past {@link MAX_TIMER_MS}
 * fires once per full period (each a chain of timers, see
 * {@link longTimeout}).
 */
export function unrefInterval(fn: () => void, ms: number): TimerHandle {
  const period = Math.max(1, ms);
  if (!(period > MAX_TIMER_MS)) {
    const t = setInterval(fn, period);
    t.unref();
    return { cancel: () => clearInterval(t) };
  }
  let timer: TimerHandle;
  const tick = () => {
    // Armed before `fn` runs, so that a cancel() from `fn` stops the next period.
    timer = chain(tick, period, true);
    fn();
  };
  timer = chain(tick, period, true);
  return { cancel: () => timer.cancel() };
}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Rejects with `AbortedError` (and clears the timer) when aborted. */
  signal?: AbortSignal | undefined;
  /** Let the process exit while sleeping. @default false */
  unref?: boolean;
}

/**
 * Resolves after `ms`, however long (see {@link longTimeout}). Honors an
 * AbortSignal: an abort clears the timer at once and rejects with
 * {@link AbortedError}; no listener is left behind.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(abortedError(signal!));
    };
    const timer = chain(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      options.unref === true,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The AbortedError for a signal, carrying its reason as `cause`. */
export function abortedError(signal: AbortSignal): AbortedError {
  const reason: unknown = signal.reason;
  if (reason instanceof AbortedError) return reason;
  const detail = reason instanceof Error && reason.message ? `: ${reason.message}` : '';
  return new AbortedError(`operation aborted${detail}`, { cause: reason });
}
