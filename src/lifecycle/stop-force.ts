/**
 * How a stop's steps are cut short when it is forced (the deadline passed,
 * or a second signal came): a step's work raced against the force signal
 * (the drain delay's wait that ends early is `waitOrAbort`).
 *
 * @module
 */
import { raceAbort } from '../internal/abort.js';

/** @internal What a step's race rejects with when the stop is forced. */
export const FORCED = Symbol('forced');

/** @internal `promise`, or a rejection with {@link FORCED} when `forced` aborts first. */
export function raceForce<T>(promise: Promise<T>, forced: AbortSignal): Promise<T> {
  return raceAbort(promise, forced, () => FORCED);
}
