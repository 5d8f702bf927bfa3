import { AbortedError } from '../errors.js';

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
  const t = setTimeout(fn, Math.max(0, ms));
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

/**
 * `setInterval` that does not keep the process alive. For background work
 * owned by an object with `close()`.
 */
export function unrefInterval(fn: () => void, ms: number): TimerHandle {
  const t = setInterval(fn, Math.max(1, ms));
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
      Math.max(0, ms),
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
