import type {
  LockAcquireRequest,
  LockAcquireResult,
  LockAdapter,
  LockExtendRequest,
  LockExtendResult,
  LockOwnerRequest,
} from '../../contracts/lock.js';
import { CorruptDataError, InvalidOptionsError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { optionsChecker } from '../../internal/validate.js';
import type { Clock, Subscription } from '../../types.js';
import { systemClock } from '../../types.js';

/**
 * Options of {@link memoryLockAdapter}.
 *
 * @example
 * ```ts
 * const adapter = memoryLockAdapter({ clock: systemClock });
 * ```
 */
export interface MemoryLockAdapterOptions {
  /** Time source; its `monotonic()` decides expiry. @default systemClock */
  clock?: Clock;
}

/** Holders of one resource: owner token to expiry (monotonic ms). */
type Holders = Map<string, number>;

const checkOptions = optionsChecker({ where: 'memoryLockAdapter() options', keys: ['clock'] });

/**
 * Locks and semaphores inside one process: the default adapter, for tests,
 * single-instance services and examples. Same semantics as the Redis
 * adapter (TTLs, fencing tokens, owner checks, release notifications), none
 * of the distribution. Fencing tokens come from one counter shared by all
 * resources, so they only grow, per resource and overall.
 *
 * @example
 * ```ts
 * const locks = new DistributedLock({ adapter: new MemoryLockAdapter() });
 * ```
 */
export class MemoryLockAdapter implements LockAdapter {
  readonly #clock: Clock;
  readonly #holds = new Map<string, Holders>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #fence = 0;
  readonly #life = new Lifecycle('MemoryLockAdapter');

  constructor(options: MemoryLockAdapterOptions = {}) {
    checkOptions(options);
    const clock = options.clock ?? systemClock;
    if (typeof clock?.monotonic !== 'function' || typeof clock.now !== 'function') {
      throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
    }
    this.#clock = clock;
  }

  #key(resource: string, limit: number): string {
    return limit === 1 ? `lock:${resource}` : `sem:${resource}`;
  }

  /** Live holders of `key`, with expired ones dropped. */
  #live(key: string): Holders | undefined {
    const holders = this.#holds.get(key);
    if (holders === undefined) return undefined;
    const now = this.#clock.monotonic();
    for (const [token, expiry] of holders) if (expiry <= now) holders.delete(token);
    if (holders.size === 0) {
      this.#holds.delete(key);
      return undefined;
    }
    return holders;
  }

  #checkOpen(): void {
    this.#life.assertOpen();
  }

  async acquire(request: LockAcquireRequest): Promise<LockAcquireResult> {
    this.#checkOpen();
    const key = this.#key(request.resource, request.limit);
    const holders = this.#live(key);
    if (holders !== undefined && (holders.size >= request.limit || holders.has(request.token))) {
      const now = this.#clock.monotonic();
      let soonest = Number.POSITIVE_INFINITY;
      for (const expiry of holders.values()) soonest = Math.min(soonest, expiry - now);
      return { acquired: false, retryAfterMs: Math.max(0, Math.ceil(soonest)) };
    }
    if (this.#fence >= Number.MAX_SAFE_INTEGER) {
      // 2^53 - 1 grants later: a larger token could not be told from the last one.
      throw new CorruptDataError('the fencing counter reached 2^53 - 1; no larger token can be issued', {
        key,
      });
    }
    const map = holders ?? new Map<string, number>();
    map.set(request.token, this.#clock.monotonic() + request.ttlMs);
    this.#holds.set(key, map);
    this.#fence += 1;
    return { acquired: true, fencingToken: this.#fence, validityMs: request.ttlMs };
  }

  async release(request: LockOwnerRequest): Promise<boolean> {
    this.#checkOpen();
    const key = this.#key(request.resource, request.limit);
    const holders = this.#live(key);
    if (holders === undefined || !holders.delete(request.token)) return false;
    if (holders.size === 0) this.#holds.delete(key);
    const listeners = this.#listeners.get(key);
    if (listeners !== undefined) {
      queueMicrotask(() => {
        for (const listener of [...listeners]) {
          try {
            listener();
          } catch {
            // a listener's failure is its own
          }
        }
      });
    }
    return true;
  }

  async extend(request: LockExtendRequest): Promise<LockExtendResult> {
    this.#checkOpen();
    const holders = this.#live(this.#key(request.resource, request.limit));
    if (holders === undefined || !holders.has(request.token)) return { extended: false };
    holders.set(request.token, this.#clock.monotonic() + request.ttlMs);
    return { extended: true, validityMs: request.ttlMs };
  }

  onRelease(resource: string, limit: number, listener: () => void): Promise<Subscription> {
    const key = this.#key(resource, limit);
    let set = this.#listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    // A wrapper per call (the same function twice is two subscriptions),
    // run in the async context of this call, not the releaser's.
    const fn = bindToCurrentContext(() => listener());
    set.add(fn);
    return Promise.resolve({
      unsubscribe: async () => {
        const current = this.#listeners.get(key);
        if (current === undefined) return;
        current.delete(fn);
        if (current.size === 0) this.#listeners.delete(key);
      },
    });
  }

  /** Drops every hold and listener; later calls reject with `ClosedError`. Idempotent: one promise for every call. */
  close(): Promise<void> {
    return this.#life.close(() => {
      this.#holds.clear();
      this.#listeners.clear();
    });
  }
}

/**
 * Creates a {@link MemoryLockAdapter}.
 *
 * @example
 * ```ts
 * const locks = new DistributedLock({ adapter: memoryLockAdapter() });
 * ```
 */
export function memoryLockAdapter(options: MemoryLockAdapterOptions = {}): MemoryLockAdapter {
  return new MemoryLockAdapter(options);
}
