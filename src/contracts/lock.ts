/**
 * The port between {@link DistributedLock} / {@link DistributedSemaphore}
 * and a store. An adapter does I/O only; waiting, leases, signals and
 * watchdogs live in the primitives.
 *
 * Every operation is one atomic step on the store (one Lua script on
 * Redis). A request names the resource, the caller's random owner `token`
 * and the `limit` of holders (1 for a lock, N for a semaphore); an adapter
 * keeps locks and semaphores of the same resource name apart.
 *
 * @module
 */

import type { Subscription } from '../types.js';

/**
 * What {@link LockAdapter.acquire} is asked to do.
 *
 * @example
 * ```ts
 * const request: LockAcquireRequest = { resource: 'a', token: 't1', ttlMs: 1_000, limit: 1 };
 * ```
 */
export interface LockAcquireRequest {
  /** The resource name (validated by the primitive: non-empty, no control characters). */
  resource: string;
  /** A random owner token, unique to this attempt; release and extend must present it. */
  token: string;
  /** Time to live of the hold on the server, in ms. */
  ttlMs: number;
  /** How many holders may hold the resource at once: 1 for a lock. */
  limit: number;
}

/**
 * What {@link LockAdapter.acquire} answers.
 *
 * @example
 * ```ts
 * const r: LockAcquireResult = await adapter.acquire(request);
 * if (r.acquired) use(r.fencingToken);
 * ```
 */
export type LockAcquireResult =
  | {
      /** Granted. */
      acquired: true;
      /**
       * A number that is larger than every fencing token handed out before
       * for this resource: storage guarded by the lock rejects writes that
       * carry a smaller one than it has seen. 0 from an adapter set up to
       * hand out none (`redisLockAdapter({ fencing: false })`).
       */
      fencingToken: number;
      /**
       * How long the hold is known to stay valid, in ms from the moment the
       * request was sent (the TTL, or less for Redlock, which subtracts the
       * time spent and the clock drift).
       */
      validityMs: number;
    }
  | {
      /** Not granted: the resource is held (or every slot is). */
      acquired: false;
      /** When a slot is expected to free up at the latest (ms), if known: the current holder's remaining TTL. */
      retryAfterMs: number | undefined;
    };

/**
 * Identifies one hold: resource, owner token and limit.
 *
 * @example
 * ```ts
 * await adapter.release({ resource: 'a', token: 't1', limit: 1 });
 * ```
 */
export interface LockOwnerRequest {
  /** The resource name. */
  resource: string;
  /** The owner token given to `acquire`. */
  token: string;
  /** The limit given to `acquire`. */
  limit: number;
}

/**
 * What {@link LockAdapter.extend} is asked to do.
 *
 * @example
 * ```ts
 * await adapter.extend({ resource: 'a', token: 't1', limit: 1, ttlMs: 5_000 });
 * ```
 */
export interface LockExtendRequest extends LockOwnerRequest {
  /** The new time to live, in ms from now. */
  ttlMs: number;
}

/**
 * What {@link LockAdapter.extend} answers.
 *
 * @example
 * ```ts
 * const { extended } = await adapter.extend({ resource: 'a', token: 't1', limit: 1, ttlMs: 5_000 });
 * ```
 */
export type LockExtendResult =
  | {
      /** The TTL was reset. */
      extended: true;
      /** How long the hold is known to stay valid from the request, in ms. */
      validityMs: number;
    }
  | {
      /** Not extended: the hold expired, was released or belongs to another owner. */
      extended: false;
    };

/**
 * A store for locks and semaphores. Implement it to put locks on another
 * back end, and check the implementation with `lockAdapterConformance`
 * from `scaleout/testing`.
 *
 * @example
 * ```ts
 * const adapter: LockAdapter = memoryLockAdapter();
 * const r = await adapter.acquire({ resource: 'a', token: 't1', ttlMs: 1000, limit: 1 });
 * if (r.acquired) await adapter.release({ resource: 'a', token: 't1', limit: 1 });
 * ```
 */
export interface LockAdapter {
  /**
   * Takes a hold if fewer than `limit` holders have one, in one atomic
   * step, and hands out the next fencing token of the resource. Throws
   * (a `ConnectionError` on a network back end) when the store cannot
   * answer: it never reports a hold it cannot confirm.
   */
  acquire(request: LockAcquireRequest): Promise<LockAcquireResult>;
  /** Drops the hold only if `token` still owns it; true when it did. Wakes waiters (see {@link onRelease}). */
  release(request: LockOwnerRequest): Promise<boolean>;
  /** Resets the TTL only if `token` still owns the hold. */
  extend(request: LockExtendRequest): Promise<LockExtendResult>;
  /**
   * Calls `listener` when a hold on `resource` is released (by anyone, in
   * any process, as far as the back end can tell). An adapter may skip the
   * notification of a release that nobody waited for, i.e. when no acquire
   * of the resource was refused while that hold lasted (the Redis adapter
   * does: a waiter is always refused before it subscribes, and tries again
   * once subscribed). Resolves once
   * notifications are flowing, with the {@link Subscription} that ends
   * them. Delivery is best effort (waiters also poll): an adapter whose
   * back end cannot subscribe at the moment may still resolve, or reject,
   * in which case the lock reports an `error` event and keeps to polling.
   * `listener` runs in the async context of this call, not the releaser's
   * nor that of the call that opened a connection.
   */
  onRelease(resource: string, limit: number, listener: () => void): Promise<Subscription>;
  /** Releases the adapter's own resources (connections it created, subscriptions). */
  close(): Promise<void>;
}
