import type { DistributedLockOptions } from './distributed-lock-options.js';
import { LeaseLock } from './lease-lock.js';
import { checkLockOptions } from './option-checks.js';

/**
 * A distributed mutex with leases. `acquire` gives a {@link Lease} with a
 * fencing token and an AbortSignal that fires before the lease can expire on
 * the server; `release` never frees a hold that is not ours; `withLock` runs
 * a function under the lock and always releases.
 *
 * Waiters in this process queue locally (only the first talks to the
 * store), are woken by release notifications and poll only as a jittered,
 * bounded fallback. When the store cannot be reached the lock fails closed:
 * `acquire` rejects with a typed error and never grants.
 *
 * @example
 * ```ts
 * import { DistributedLock } from 'scaleout';
 * import { redisLockAdapter } from 'scaleout/redis';
 *
 * const locks = new DistributedLock({ adapter: redisLockAdapter({ connection: redis }) });
 * await locks.withLock(`user_points:${id}`, async (lease) => {
 *   await db.addPoints(id, points, { fencingToken: lease.fencingToken, signal: lease.signal });
 * }, { ttlMs: 10_000, autoExtend: true });
 * ```
 */
export class DistributedLock extends LeaseLock {
  /**
   * Validates `options` (`InvalidOptionsError` naming the option). The
   * design's `new DistributedLock(cache)` is refused: pass
   * `{ adapter: redisLockAdapter({ connection }) }`.
   */
  constructor(options: DistributedLockOptions = {}) {
    checkLockOptions(options, false);
    super(options, 1);
  }
}
