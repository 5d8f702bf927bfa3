/**
 * A held lock or semaphore slot, as returned by `DistributedLock.acquire`
 * and `DistributedSemaphore.acquire`.
 *
 * - `fencingToken` is larger than every token handed out before for the
 *   resource: pass it to the storage you write to, and have that storage
 *   refuse writes with a token smaller than the largest it has seen. That
 *   is what keeps a paused or partitioned former holder from corrupting
 *   data after its lease ran out.
 * - `signal` aborts **before** the server-side expiry (at the expiry minus
 *   a drift margin), when an extend finds the lease lost, or when it is
 *   released. Stop exclusive work when it fires.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire('user_points:42', { ttlMs: 10_000 });
 * try {
 *   await db.addPoints(42, 10, { fencingToken: lease.fencingToken, signal: lease.signal });
 * } finally {
 *   await lease.release();
 * }
 * ```
 */
export interface Lease {
  /** The resource this lease holds. */
  readonly resource: string;
  /** Grows with every grant of the resource; attach it to writes. 0 with `redisLockAdapter({ fencing: false })`. */
  readonly fencingToken: number;
  /**
   * Wall-clock time (ms since the epoch) at which the server may give the
   * resource to someone else, as far as this process can tell. Moves
   * forward on a successful `extend`.
   */
  readonly expiresAt: number;
  /** Fires before `expiresAt` (drift margin), on loss, or on release. Its `reason` says which. */
  readonly signal: AbortSignal;
  /** True once `release()` was called or the lease is known to be lost. */
  readonly released: boolean;
  /**
   * Asks the server for `ttlMs` more from now (default: the TTL it was
   * acquired with). Resolves `true` when extended; `false` when the lease
   * was already released, expired or lost (the signal is aborted then).
   * Rejects with a `ConnectionError`/`TimeoutError` if the server could not
   * be asked; the signal is aborted in that case too (fail closed).
   */
  extend(ttlMs?: number): Promise<boolean>;
  /**
   * Releases the lease. Resolves `true` if we still owned it, `false` if it
   * had expired, been taken over, or was already released. Never frees a
   * hold that is not ours.
   */
  release(): Promise<boolean>;
  /** Same as {@link release}, for `await using lease = await locks.acquire(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}
