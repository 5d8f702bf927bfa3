import { isScaleoutError, TimeoutError } from '../errors.js';
import { TimeoutQueue } from '../internal/timeout-queue.js';

/** @internal Adapter-call deadlines of every limiter, on one unref'd Node timer. */
export const DEADLINES = new TimeoutQueue();

/** @internal Rejects with `TimeoutError` when `promise` has not settled after `timeoutMs`. */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry = DEADLINES.add(timeoutMs, () => {
      promise.catch(() => {});
      reject(new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { timeoutMs }));
    });
    promise.then(
      (value) => {
        DEADLINES.cancel(entry);
        resolve(value);
      },
      (err: unknown) => {
        DEADLINES.cancel(entry);
        reject(err);
      },
    );
  });
}

/** @internal */
export const noop = (): void => {};

/**
 * @internal Whether an adapter failure is an outage (the store cannot answer), as
 * opposed to an answer about the data or the call: only outages switch to
 * the insurance limiter. A third-party adapter's raw error counts as one.
 */
export function isOutage(err: unknown): boolean {
  if (!isScaleoutError(err)) return true;
  return err.code === 'ERR_CONNECTION' || err.code === 'ERR_TIMEOUT';
}
