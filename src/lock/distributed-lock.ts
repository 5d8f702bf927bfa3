import type { LockAdapter } from '../contracts/lock.js';
import type { Listener } from '../internal/events.js';
import type { DistributedLockOptions } from './distributed-lock-options.js';
import type { Lease } from './lease.js';
import { type AcquireOptions, LeaseManager, type LockEvents, type WithLockOptions } from './lease-manager.js';

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
export class DistributedLock {
  readonly #manager: LeaseManager;

  constructor(options: DistributedLockOptions = {}) {
    this.#manager = new LeaseManager(options, 1);
  }

  /** The adapter holding the locks. */
  get adapter(): LockAdapter {
    return this.#manager.adapter;
  }

  /**
   * Acquires `resource`, waiting up to `waitMs` while someone else holds it.
   * Rejects with `LockNotAcquiredError` after `waitMs`, `AbortedError` if
   * `signal` fires, a `ConnectionError`/`TimeoutError` when the store cannot
   * answer (fail closed), `InvalidArgumentError` for an empty resource or a
   * bad TTL.
   *
   * @example
   * ```ts
   * const lease = await locks.acquire('invoice:7', { ttlMs: 5_000, waitMs: 2_000 });
   * try { await work(lease.fencingToken); } finally { await locks.release(lease); }
   * ```
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lease> {
    return this.#manager.acquire(resource, options);
  }

  /**
   * One attempt: a lease, or `null` at once when the resource is held.
   *
   * @example
   * ```ts
   * const lease = await locks.tryAcquire('cron:nightly', { ttlMs: 60_000 });
   * if (lease === null) return; // another instance runs it
   * ```
   */
  tryAcquire(resource: string, options?: Omit<AcquireOptions, 'waitMs'>): Promise<Lease | null> {
    return this.#manager.tryAcquire(resource, options);
  }

  /**
   * Releases a lease: `true` if we still owned it, `false` if it had
   * expired, been taken over or was already released. Throws
   * `InvalidArgumentError` for a lease this lock did not issue.
   *
   * @example
   * ```ts
   * if (!(await locks.release(lease))) log.warn('lease had expired before release');
   * ```
   */
  release(lease: Lease): Promise<boolean> {
    return this.#manager.release(lease);
  }

  /**
   * Extends a lease by `ttlMs` (default: its TTL); see {@link Lease.extend}.
   *
   * @example
   * ```ts
   * if (!(await locks.extend(lease, 10_000))) abortWork();
   * ```
   */
  extend(lease: Lease, ttlMs?: number): Promise<boolean> {
    return this.#manager.extend(lease, ttlMs);
  }

  /**
   * Runs `fn(lease)` while holding `resource` and always releases, whether
   * `fn` resolves or throws. With `autoExtend`, a watchdog extends the
   * lease every third of its TTL; if an extend fails, `lease.signal`
   * aborts. A failed release is reported through the `error` event, not
   * thrown (the hold then ends by its TTL).
   *
   * @example
   * ```ts
   * const total = await locks.withLock('ledger:9', async (lease) => ledger.apply(entry, lease.fencingToken));
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
   * locks.on('lost', ({ resource, reason }) => log.warn('lease lost', { resource, reason: String(reason) }));
   * ```
   */
  on<K extends keyof LockEvents>(event: K, listener: Listener<LockEvents, K>): () => void {
    return this.#manager.events.on(event, listener);
  }

  /**
   * Rejects pending waiters with `ClosedError`, stops lease timers (their
   * signals abort), and closes the adapter if this lock created it.
   *
   * @example
   * ```ts
   * await locks.close();
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
