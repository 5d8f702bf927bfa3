import { InvalidOptionsError } from '../errors.js';
import type { DistributedLockOptions } from './distributed-lock-options.js';
import { LeaseLock } from './lease-lock.js';
import { checkLockOptions } from './option-checks.js';

/**
 * Options of {@link DistributedSemaphore}: those of a lock, plus the number of holders.
 *
 * @example
 * ```ts
 * const sem = new DistributedSemaphore({ adapter, limit: 5, ttlMs: 60_000 });
 * ```
 */
export interface DistributedSemaphoreOptions extends DistributedLockOptions {
  /** How many holders may hold one resource at once. Every process must use the same limit for a resource. */
  limit: number;
}

/**
 * A distributed counting semaphore: up to `limit` leases per resource at
 * once, with the same lease model as {@link DistributedLock} (fencing
 * tokens, signals, extend, watchdog, notifications on release, fail
 * closed). On Redis the holders live in one sorted set scored by expiry,
 * trimmed and checked inside one script.
 *
 * @example
 * ```ts
 * const exports = new DistributedSemaphore({ adapter: redisLockAdapter({ connection: redis }), limit: 3 });
 * await exports.withLock('pdf-export', async (lease) => renderPdf({ signal: lease.signal }));
 * ```
 */
export class DistributedSemaphore extends LeaseLock {
  /** The number of holders allowed per resource. */
  readonly limit: number;

  /** Validates `options` (`InvalidOptionsError` naming the option). */
  constructor(options: DistributedSemaphoreOptions) {
    checkLockOptions(options, true);
    // With limit 1 it is the same hold as a DistributedLock of that resource.
    super(options, checkedLimit(options?.limit));
    this.limit = options.limit;
  }
}

function checkedLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > 1_000_000) {
    throw new InvalidOptionsError('limit must be an integer in [1, 1000000]', { option: 'limit' });
  }
  return limit;
}
