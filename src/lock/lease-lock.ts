import { memoryLockAdapter } from '../adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../contracts/lock.js';
import { InvalidArgumentError, LockNotAcquiredError } from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { durationArgument, keyArgument } from '../internal/validate.js';
import { noopLogger, systemClock } from '../types.js';
import {
  type AcquireOptions,
  type DistributedLockOptions,
  driftMarginMs,
  type ResolvedLockOptions,
  resolveLockOptions,
  type WithLockOptions,
} from './distributed-lock-options.js';
import type { Lease } from './lease.js';
import { LeaseDeadlines } from './lease-deadline.js';
import { LockCalls } from './lock-calls.js';
import { failureReporter, type LockEvents, type ReportFailure } from './lock-events.js';
import {
  checkAcquireOptions,
  checkListener,
  checkTryAcquireOptions,
  checkWithLockOptions,
  leaseToRelease,
} from './option-checks.js';
import { ResourceQueues } from './resource-queue.js';

/**
 * What {@link DistributedLock} and {@link DistributedSemaphore} share: leases
 * on a resource, one holder at a time for a lock, up to `limit` for a
 * semaphore, with fencing tokens, signals, extend, a watchdog, release
 * notifications for waiters, and failing closed when the store cannot answer.
 * Not constructed directly.
 *
 * This class checks arguments and owns the lifecycle; the work is done by
 * its parts, one file each: the wait queue of each resource
 * (resource-queue.ts: local waiters, hand-off, polling, fail closed), the
 * granted leases with their deadlines, extend, release and watchdog
 * (lease-deadline.ts), the lease objects handed out (lease-handle.ts), and
 * the adapter calls under the operation time limit (lock-calls.ts).
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
  /** Whether this lock created its adapter (and so closes it). */
  readonly #ownsAdapter: boolean;
  readonly #options: ResolvedLockOptions;
  readonly #events: TypedEmitter<LockEvents>;
  readonly #report: ReportFailure;
  readonly #life: Lifecycle;
  readonly #calls: LockCalls;
  readonly #leases: LeaseDeadlines;
  readonly #queues: ResourceQueues;

  /** `limit` holders per resource (1 for a lock). */
  protected constructor(options: DistributedLockOptions, limit: number) {
    this.#options = resolveLockOptions(options);
    const clock = options.clock ?? systemClock;
    const adapter = options.adapter ?? memoryLockAdapter({ clock });
    this.#ownsAdapter = options.adapter === undefined;
    this.#events = new TypedEmitter<LockEvents>(options.logger ?? noopLogger);
    this.#report = failureReporter(options.logger ?? noopLogger, this.#events);
    this.#life = new Lifecycle(new.target.name);
    this.#calls = new LockCalls(adapter, limit, this.#options.operationTimeoutMs, this.#report);
    this.#leases = new LeaseDeadlines({
      calls: this.#calls,
      clock,
      driftFactor: this.#options.driftFactor,
      events: this.#events,
      report: this.#report,
      ttl: (ttlMs) => this.#ttl(ttlMs),
      assertOpen: () => this.#life.assertOpen(),
    });
    this.#queues = new ResourceQueues({
      calls: this.#calls,
      leases: this.#leases,
      clock,
      report: this.#report,
      retryMinMs: this.#options.retryMinMs,
      retryMaxMs: this.#options.retryMaxMs,
    });
  }

  /** The adapter holding the leases. */
  get adapter(): LockAdapter {
    return this.#calls.adapter;
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
      return this.#acquire(resource, options ?? {});
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `acquire` after the options' shape was checked (by acquire or withLock). */
  #acquire(resource: string, options: AcquireOptions): Promise<Lease> {
    keyArgument('resource', resource);
    const ttl = this.#ttl(options.ttlMs);
    const waitMs = durationArgument('waitMs', options.waitMs ?? this.#options.waitMs, 0);
    this.#life.assertOpen();
    const signal = options.signal;
    if (signal?.aborted) throw abortedError(signal);
    if (waitMs === 0) {
      return this.#queues.tryAcquire(resource, ttl).then((lease) => {
        if (lease === null)
          throw new LockNotAcquiredError('resource is held by someone else', { resource, waitedMs: 0 });
        return lease;
      });
    }
    return this.#queues.acquire(resource, ttl, waitMs, signal);
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
      keyArgument('resource', resource);
      const ttl = this.#ttl(options?.ttlMs);
      this.#life.assertOpen();
      if (options?.signal?.aborted) throw abortedError(options.signal);
      return this.#queues.tryAcquire(resource, ttl);
    } catch (err) {
      return Promise.reject(err);
    }
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
    try {
      return this.#leases.release(leaseToRelease(leaseOrResource, lease));
    } catch (err) {
      return Promise.reject(err);
    }
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
    return this.#leases.extend(lease, ttlMs);
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
  async withLock<T>(
    resource: string,
    fn: (lease: Lease) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    checkWithLockOptions(options);
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn must be a function', { argument: 'fn' });
    const lease = await this.#acquire(resource, options ?? {});
    if (options?.autoExtend === true) this.#leases.startWatchdog(lease);
    try {
      return await fn(lease);
    } finally {
      try {
        await this.#leases.release(lease);
      } catch (error) {
        // The hold expires by its TTL; the caller's result matters more.
        this.#report(resource, 'release', error);
      }
    }
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
    return this.#events.on(event, listener);
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
    this.#events.off(event, listener);
  }

  /**
   * Rejects pending waiters with `ClosedError`, stops lease timers (their
   * signals abort with `ClosedError`), and closes the adapter only if this
   * lock or semaphore created it (no `adapter` option): an adapter you
   * passed stays open for whatever else shares it. Leases still release
   * after close. Idempotent: every call gets the same promise.
   *
   * @example
   * ```ts
   * await locks.close();
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      // The lock counts as closed once this first yields: listeners that the
      // teardown runs (a lease signal's abort, `lost`) find it closed.
      await Promise.resolve();
      this.#queues.close();
      this.#leases.loseAll();
      this.#events.clear();
      this.#calls.stop();
      if (this.#ownsAdapter) await this.#calls.adapter.close();
    });
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #ttl(ttlMs: number | undefined): number {
    const ttl = durationArgument('ttlMs', ttlMs ?? this.#options.ttlMs);
    if (driftMarginMs(ttl, this.#options.driftFactor) >= ttl) {
      throw new InvalidArgumentError('ttlMs is shorter than its drift margin', { argument: 'ttlMs' });
    }
    return ttl;
  }
}
