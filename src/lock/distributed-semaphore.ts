import type { LockAdapter } from '../contracts/lock.js';
import { InvalidOptionsError } from '../errors.js';
import type { Listener } from '../internal/events.js';
import type { DistributedLockOptions } from './distributed-lock-options.js';
import type { Lease } from './lease.js';
import { type AcquireOptions, LeaseManager, type LockEvents, type WithLockOptions } from './lease-manager.js';

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
export class DistributedSemaphore {
  readonly #manager: LeaseManager;
  /** The number of holders allowed per resource. */
  readonly limit: number;

  constructor(options: DistributedSemaphoreOptions) {
    const limit = options?.limit;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > 1_000_000) {
      throw new InvalidOptionsError('limit must be an integer in [1, 1000000]', { option: 'limit' });
    }
    this.limit = limit;
    // With limit 1 it is the same hold as a DistributedLock of that resource.
    this.#manager = new LeaseManager(options, limit);
  }

  /** The adapter holding the slots. */
  get adapter(): LockAdapter {
    return this.#manager.adapter;
  }

  /**
   * Takes a slot of `resource`, waiting up to `waitMs` while all `limit` are held.
   *
   * @example
   * ```ts
   * const slot = await sem.acquire('pdf-export', { ttlMs: 60_000 });
   * ```
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lease> {
    return this.#manager.acquire(resource, options);
  }

  /**
   * One attempt: a slot, or `null` at once when all are held.
   *
   * @example
   * ```ts
   * const slot = await sem.tryAcquire('pdf-export');
   * ```
   */
  tryAcquire(resource: string, options?: Omit<AcquireOptions, 'waitMs'>): Promise<Lease | null> {
    return this.#manager.tryAcquire(resource, options);
  }

  /**
   * Gives a slot back: `true` if we still held it.
   *
   * @example
   * ```ts
   * await sem.release(slot);
   * ```
   */
  release(lease: Lease): Promise<boolean> {
    return this.#manager.release(lease);
  }

  /**
   * Extends a slot; see {@link Lease.extend}.
   *
   * @example
   * ```ts
   * await sem.extend(slot, 60_000);
   * ```
   */
  extend(lease: Lease, ttlMs?: number): Promise<boolean> {
    return this.#manager.extend(lease, ttlMs);
  }

  /**
   * Runs `fn(lease)` holding a slot; always releases.
   *
   * @example
   * ```ts
   * await sem.withLock('pdf-export', (slot) => render({ signal: slot.signal }), { autoExtend: true });
   * ```
   */
  withLock<T>(resource: string, fn: (lease: Lease) => T | Promise<T>, options?: WithLockOptions): Promise<T> {
    return this.#manager.withLock(resource, fn, options);
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * sem.on('lost', ({ resource }) => log.warn('slot lost', { resource }));
   * ```
   */
  on<K extends keyof LockEvents>(event: K, listener: Listener<LockEvents, K>): () => void {
    return this.#manager.events.on(event, listener);
  }

  /**
   * Rejects waiters and stops timers; closes the adapter if this semaphore created it.
   *
   * @example
   * ```ts
   * await sem.close();
   * ```
   */
  close(): Promise<void> {
    return this.#manager.close();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
