import { AbortedError } from '../errors.js';

// Node's timers hold a signed 32-bit delay: `setTimeout(fn, 2 ** 31)` fires
// after 1 ms (with a `TimeoutOverflowWarning`), so a deadline of a month
// would end at once. Durations up to a year are accepted (the library's
// `MAX_DURATION_MS`); past ~24.8 days a timer here waits the longest it
// can, which for a deadline or a stop is the same as never.

/** The longest delay a node timer keeps, ms (2^31 - 1, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @internal `ms` as a delay node's timers keep (capped at {@link MAX_TIMER_MS}).
 *
 * @example
 * ```ts
 * setTimeout(force, timerMs(deadlineMs)).unref();
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

/**
 * `setTimeout` that does not keep the process alive. For background work
 * owned by an object with `close()`.
 */
export function unrefTimeout(fn: () => void, ms: number): TimerHandle {
  const t = setTimeout(fn, timerMs(Math.max(0, ms)));
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

/**
 * `setInterval` that does not keep the process alive. For background work
 * owned by an object with `close()`.
 */
export function unrefInterval(fn: () => void, ms: number): TimerHandle {
  const t = setInterval(fn, timerMs(Math.max(1, ms)));
  t.unref();
  return { cancel: () => clearInterval(t) };
}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Rejects with `AbortedError` (and clears the timer) when aborted. */
  signal?: AbortSignal | undefined;
  /** Let the process exit while sleeping. @default false */
  unref?: boolean;
}

/**
 * Resolves after `ms`. Honors an AbortSignal: an abort clears the timer at
 * once and rejects with {@link AbortedError}; no listener is left behind.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      timerMs(Math.max(0, ms)),
    );
    if (options.unref) timer.unref();
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
