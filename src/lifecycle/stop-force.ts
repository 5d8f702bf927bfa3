/**
 * How a stop's steps are cut short when it is forced (the deadline passed,
 * or a second signal came): a step's work raced against the force signal,
 * and the drain delay's wait that ends early.
 *
 * @module
 */
import { raceAbort } from '../internal/abort.js';
import { unrefTimeout } from '../internal/timers.js';

/** @internal What a step's race rejects with when the stop is forced. */
export const FORCED = Symbol('forced');

/** @internal `promise`, or a rejection with {@link FORCED} when `forced` aborts first. */
export function raceForce<T>(promise: Promise<T>, forced: AbortSignal): Promise<T> {
  return raceAbort(promise, forced, () => FORCED);
}

/** @internal Waits `ms`, or less when `forced` aborts (the drain delay). */
export function waitOrForced(ms: number, forced: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = unrefTimeout(done, ms);
    forced.addEventListener('abort', done, { once: true });
    function done(): void {
      timer.cancel();
      forced.removeEventListener('abort', done);
      resolve();
    }
  });
}
