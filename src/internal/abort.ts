import { TimeoutError } from '../errors.js';
import { abortedError } from './timers.js';

export { abortedError };

/** Throws `AbortedError` if the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/**
 * A signal that fires when any of the given signals fires. `undefined`
 * entries are ignored; with none left, returns `undefined`.
 */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return AbortSignal.any(present);
}

/**
 * Races `promise` against `signal`: rejects with `AbortedError` as soon as
 * the signal fires. The listener is removed when either settles. The
 * underlying operation is not cancelled; pass the signal to it too.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortedError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abortedError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Rejects with {@link TimeoutError} if `promise` has not settled after
 * `timeoutMs`. The timer is cleared when the promise settles and is unref'd.
 * A late rejection of `promise` is swallowed (never unhandled).
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what = 'operation'): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      promise.catch(() => {});
      reject(new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { timeoutMs }));
    }, timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
