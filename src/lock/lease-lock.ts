import type { LockAdapter } from '../contracts/lock.js';
import { InvalidArgumentError } from '../errors.js';
import type { DistributedLockOptions } from './distributed-lock-options.js';
import type { Lease } from './lease.js';
import { type AcquireOptions, LeaseManager, type LockEvents, type WithLockOptions } from './lease-manager.js';
import {
  checkAcquireOptions,
  checkListener,
  checkTryAcquireOptions,
  checkWithLockOptions,
} from './option-checks.js';

/**
 * What {@link DistributedLock} and {@link DistributedSemaphore} share: leases
 * on a resource, one holder at a time for a lock, up to `limit` for a
 * semaphore, with fencing tokens, signals, extend, a watchdog, release
 * notifications for waiters, and failing closed when the store cannot answer.
 * Not constructed directly.
 *
 * @example
 * ```ts
 * async function nightly(locks: LeaseLock): Promise<void> {
 *   const lease = await locks.tryAcquire('cron:nightly', { ttlMs: 60_000 });
 *   if (lease !== null) await locks.release(lease);
 * }
 * ```
 */
export abstract class LeaseLock {
  readonly #manager: LeaseManager;

  /** `limit` holders per resource (1 for a lock). */
  protected constructor(options: DistributedLockOptions, limit: number) {
    this.#manager = new LeaseManager(options, limit);
  }

  /** The adapter holding the leases. */
  get adapter(): LockAdapter {
    return this.#manager.adapter;
  }

  /**
   * Acquires `resource` (for a semaphore: one of its `limit` slots), waiting
   * up to `waitMs` while it is held (all slots are held).
   * Rejects with `LockNotAcquiredError` after `waitMs`, `AbortedError` if
   * `signal` fires, a `ConnectionError`/`TimeoutError` when the store cannot
   * answer (fail closed), `InvalidArgumentError` for an empty resource or a
   * bad TTL, `InvalidOptionsError` for an unknown option or a bare number
   * (the design's `acquire(resource, ttlSeconds)`: pass `{ ttlMs }`).
   *
   * Unlike the design's `acquire`, which answers `null` at once when the
   * resource is taken, this one waits and then throws: the design's
   * meaning is {@link tryAcquire}.
   *
   * @example
   * ```ts
   * const lease = await locks.acquire('invoice:7', { ttlMs: 5_000, waitMs: 2_000 });
   * try { await work(lease.fencingToken); } finally { await locks.release(lease); }
   * ```
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lease> {
    try {
      checkAcquireOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#manager.acquire(resource, options);
  }

  /**
   * One attempt: a lease, or `null` at once when the resource is held
   * (the design's `acquire`, with `{ ttlMs }` for its `ttlSeconds`).
   *
   * @example
   * ```ts
   * const lease = await locks.tryAcquire('cron:nightly', { ttlMs: 60_000 });
   * if (lease === null) return; // another instance runs it
   * ```
   */
  tryAcquire(resource: string, options?: Omit<AcquireOptions, 'waitMs'>): Promise<Lease | null> {
    try {
      checkTryAcquireOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#manager.tryAcquire(resource, options);
  }

  /**
   * Releases a lease: `true` if we still owned it, `false` if it had
   * expired, been taken over or was already released. Rejects with
   * `InvalidArgumentError` for a lease this lock or semaphore did not issue.
   *
   * The design's shape `release(resource, lockId)` works when the second
   * argument is the lease itself (`release(resource, lease)`, the resource
   * must be the lease's); a string id is refused with `InvalidArgumentError`
   * saying to pass the lease: scaleout's owner token never leaves the lease.
   *
   * @example
   * ```ts
   * if (!(await locks.release(lease))) log.warn('lease had expired before release');
   * await locks.release('user_points:42', lease); // the design's shape
   * ```
   */
  release(lease: Lease): Promise<boolean>;
  release(resource: string, lease: Lease): Promise<boolean>;
  release(leaseOrResource: Lease | string, lease?: Lease): Promise<boolean> {
    if (typeof leaseOrResource !== 'string') {
      if (lease !== undefined) {
        return Promise.reject(
          new InvalidArgumentError('release takes one lease, or a resource and its lease', {
            argument: 'lease',
          }),
        );
      }
      return this.#manager.release(leaseOrResource);
    }
    if (typeof lease !== 'object' || lease === null) {
      return Promise.reject(
        new InvalidArgumentError(
          `release(resource, lease) takes the Lease that acquire() or tryAcquire() returned, got ${lease === null ? 'null' : typeof lease}: scaleout has no lock id to pass (the design's lockId is the lease), so call lock.release(lease) or lock.release(resource, lease)`,
          { argument: 'lease' },
        ),
      );
    }
    if ((lease as { resource?: unknown }).resource !== leaseOrResource) {
      return Promise.reject(
        new InvalidArgumentError('release(resource, lease): the lease holds another resource', {
          argument: 'resource',
        }),
      );
    }
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
   * Runs `fn(lease)` while holding `resource` (a slot of it) and always releases, whether
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
    try {
      checkWithLockOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
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
  on<K extends keyof LockEvents>(event: K, listener: (payload: LockEvents[K]) => void): () => void {
    checkListener(event, listener);
    return this.#manager.events.on(event, listener);
  }

  /**
   * Unsubscribes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * locks.off('lost', onLost);
   * ```
   */
  off<K extends keyof LockEvents>(event: K, listener: (payload: LockEvents[K]) => void): void {
    checkListener(event, listener);
    this.#manager.events.off(event, listener);
  }

  /**
   * Rejects pending waiters with `ClosedError`, stops lease timers (their
   * signals abort), and closes the adapter if this lock or semaphore created it.
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
