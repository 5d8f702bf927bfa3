import { InvalidArgumentError, TimeoutError } from '../errors.js';
import { abortedError, type LongTimeoutOptions, longTimeout, unrefTimeout } from './timers.js';

export { abortedError };

/** @internal True for an `AbortSignal`, or anything with its shape (`aborted`, add/removeEventListener), say from another realm. */
export function isAbortSignal(value: unknown): value is AbortSignal {
  const s = value as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.aborted === 'boolean' &&
    typeof s.addEventListener === 'function' &&
    typeof s.removeEventListener === 'function'
  );
}

/**
 * @internal The `signal` of a `close(options)` call, checked: `options`
 * by `check` (unknown keys, a bare value), the signal an `AbortSignal`.
 * Throws `InvalidOptionsError` / `InvalidArgumentError`.
 */
export function closeSignal(options: unknown, check: (options: unknown) => void): AbortSignal | undefined {
  check(options);
  const signal = (options as { signal?: unknown } | undefined)?.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
  }
  return signal;
}

/** Throws `AbortedError` if the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** A combined signal and the means to detach it from its inputs. */
export interface CombinedSignal {
  /** Fires when any input fires; `undefined` when there were no inputs. */
  signal: AbortSignal | undefined;
  /** Removes the listeners from the inputs; call when the operation ends. */
  dispose(): void;
}

const noop = () => {};

/**
 * Combines signals: the result fires when any input fires, with its reason.
 * `undefined` inputs are ignored.
 *
 * Built on a plain AbortController whose listeners hold the inputs strongly:
 * `AbortSignal.any` holds its inputs weakly, so an `AbortSignal.timeout`
 * reachable only through it can be garbage-collected and never fire. Call
 * `dispose()` when the operation ends so a long-lived input (a shutdown
 * signal) does not collect one listener per operation.
 */
export function anySignal(...signals: Array<AbortSignal | undefined>): CombinedSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return { signal: undefined, dispose: noop };
  if (present.length === 1) return { signal: present[0], dispose: noop };
  const controller = new AbortController();
  const already = present.find((s) => s.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: noop };
  }
  const dispose = () => {
    for (const s of present) s.removeEventListener('abort', onAbort);
  };
  const onAbort = (event: Event) => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  for (const s of present) s.addEventListener('abort', onAbort);
  return { signal: controller.signal, dispose };
}

/**
 * Races `promise` against `signal`: rejects with `AbortedError` (or what
 * `reason` makes) as soon as the signal fires, also when it has already.
 * The listener is removed when either settles; a late rejection of the
 * abandoned `promise` is swallowed. The underlying operation is not
 * cancelled; pass the signal to it too.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  reason: (signal: AbortSignal) => unknown = abortedError,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(reason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(reason(signal));
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
 * `timeoutMs` (however long: past node's timer range it re-arms). The timer
 * is cleared when the promise settles and is unref'd.
 * A late rejection of `promise` is swallowed (never unhandled). `onTimeout`
 * runs with the error just before the rejection (to abort the work, say).
 * For many calls on a hot path, see `TimeoutQueue` and `DeadlineSweep`.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what = 'operation',
  onTimeout?: (error: TimeoutError) => void,
): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = unrefTimeout(() => {
      promise.catch(() => {});
      const error = new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { timeoutMs });
      onTimeout?.(error);
      reject(error);
    }, timeoutMs);
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (err: unknown) => {
        timer.cancel();
        reject(err);
      },
    );
  });
}

/** What {@link waitOrAbort} returns. */
export interface WaitOrAbort {
  /** Resolves when `ms` have passed or the signal aborted, whichever first (never rejects). */
  readonly passed: Promise<void>;
  /** Clears the timer and the signal's listener (`passed` then stays pending); safe to call again. */
  cancel(): void;
}

/**
 * @internal A wait that ends after `ms` (however long: see `unrefTimeout`)
 * or when `signal` aborts (at once if it already has), whichever comes
 * first: a stop's deadline. Whichever ends it clears the other, so no
 * timer or listener outlives it; `cancel()` clears both early. The timer
 * is unref'd.
 *
 * @example
 * ```ts
 * const deadline = waitOrAbort(closeTimeoutMs, signal);
 * try { await Promise.race([drained, deadline.passed]); } finally { deadline.cancel(); }
 * ```
 */
export function waitOrAbort(ms: number, signal: AbortSignal | undefined): WaitOrAbort {
  let cancel = noop;
  const passed = new Promise<void>((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = unrefTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    cancel = () => {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return { passed, cancel: () => cancel() };
}

/** What {@link abortAfter} returns. */
export interface AbortAfter {
  /** Aborts with the timeout's reason when the time is up; may also be aborted by hand. */
  readonly controller: AbortController;
  /** Clears the timer (the signal then fires only if aborted by hand); safe to call again. */
  cancel(): void;
}

/**
 * @internal A controller whose signal aborts with `reason()` after `ms`,
 * however long: `AbortSignal.timeout` fires after 1 ms past node's timer
 * range (~24.8 days), and a signal reachable only through `AbortSignal.any`
 * may be collected before it fires. Hold the result until the operation
 * settles, then `cancel()`. Ref'd unless `unref` is set (see
 * `longTimeout`).
 *
 * @example
 * ```ts
 * const deadline = abortAfter(timeoutMs, () => new TimeoutError(`check timed out after ${timeoutMs} ms`, { timeoutMs }));
 * try { return await run(deadline.controller.signal); } finally { deadline.cancel(); }
 * ```
 */
export function abortAfter(ms: number, reason: () => unknown, options?: LongTimeoutOptions): AbortAfter {
  const controller = new AbortController();
  const timer = longTimeout(() => controller.abort(reason()), ms, options);
  return { controller, cancel: () => timer.cancel() };
}
