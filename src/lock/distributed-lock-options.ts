import type { LockAdapter } from '../contracts/lock.js';
import { InvalidOptionsError } from '../errors.js';
import { durationOption } from '../internal/validate.js';
import type { BaseOptions, Logger } from '../types.js';

/**
 * Options of {@link DistributedLock} (and, with `limit`, of {@link DistributedSemaphore}).
 *
 * @example
 * ```ts
 * const locks = new DistributedLock({ adapter: redisLockAdapter({ connection: redis }), ttlMs: 10_000, waitMs: 2_000 });
 * ```
 */
export interface DistributedLockOptions extends BaseOptions<LockAdapter> {
  /**
   * Where holds live. The lock closes it only if it created it: an adapter
   * you pass stays open for the other locks, semaphores and caches sharing
   * it (close it yourself). @default a new in-memory adapter (one process
   * only), closed by `close()`
   */
  adapter?: LockAdapter;
  /** Default time to live of a lease, in ms. @default 30_000 */
  ttlMs?: number;
  /** Default time `acquire` waits for a busy resource, in ms (0: fail at once). @default 10_000 */
  waitMs?: number;
  /**
   * Fraction of the TTL kept as a safety margin: a lease's `signal` fires
   * at `ttlMs * (1 - driftFactor) - 2 ms` after the acquire was sent, to
   * cover clock-rate drift between this process and the server.
   * @default 0.01
   */
  driftFactor?: number;
  /** Shortest wait between two polls of a busy resource, in ms (polls are jittered and also bounded by the holder's remaining TTL). @default 25 */
  retryMinMs?: number;
  /**
   * Longest wait between two polls of a busy resource, in ms. Waiters are
   * woken by release notifications; polling is the fallback for lost
   * notifications and crashed holders.
   * @default 1_000
   */
  retryMaxMs?: number;
  /** Time limit of one call to the adapter, in ms; past it the call counts as failed (fail closed). @default 5_000 */
  operationTimeoutMs?: number;
  /** Receives failures that no caller sees (background releases, watchdog errors). @default no logging */
  logger?: Logger;
}

/**
 * Options of one acquire call.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire('invoice:7', { ttlMs: 5_000, waitMs: 1_000, signal: request.signal });
 * ```
 */
export interface AcquireOptions {
  /** Time to live of the lease, in ms. @default the lock's `ttlMs` */
  ttlMs?: number;
  /** How long to wait for a busy resource, in ms; 0 fails at once. @default the lock's `waitMs` */
  waitMs?: number;
  /** Stops waiting (rejects with `AbortedError`). Does not affect a lease already granted. */
  signal?: AbortSignal;
}

/**
 * Options of `withLock`.
 *
 * @example
 * ```ts
 * await locks.withLock('nightly-report', (lease) => build({ signal: lease.signal }), { ttlMs: 30_000, autoExtend: true });
 * ```
 */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Keep the lease alive while `fn` runs: extend it by `ttlMs` every third
   * of the TTL. If an extend fails, the lease's signal aborts (and `fn`
   * should stop). @default false
   */
  autoExtend?: boolean;
}

/**
 * Defaults of {@link DistributedLockOptions}.
 *
 * @example
 * ```ts
 * const shortLocks = new DistributedLock({ ttlMs: DISTRIBUTED_LOCK_DEFAULTS.ttlMs / 3 });
 * ```
 */
export const DISTRIBUTED_LOCK_DEFAULTS = Object.freeze({
  /** Lease TTL, ms. */
  ttlMs: 30_000,
  /** How long `acquire` waits for a held resource, ms. */
  waitMs: 10_000,
  /** Fraction of the TTL kept as a margin for clock drift. */
  driftFactor: 0.01,
  /** Smallest pause between polls while waiting, ms. */
  retryMinMs: 25,
  /** Largest pause between polls while waiting, ms. */
  retryMaxMs: 1_000,
  /** Time limit of one adapter operation, ms. */
  operationTimeoutMs: 5_000,
});

/** @internal Options with defaults applied and validated. */
export interface ResolvedLockOptions {
  ttlMs: number;
  waitMs: number;
  driftFactor: number;
  retryMinMs: number;
  retryMaxMs: number;
  operationTimeoutMs: number;
}

/** @internal */
export function resolveLockOptions(options: DistributedLockOptions): ResolvedLockOptions {
  const d = DISTRIBUTED_LOCK_DEFAULTS;
  const driftFactor = options.driftFactor ?? d.driftFactor;
  if (typeof driftFactor !== 'number' || !(driftFactor >= 0 && driftFactor < 0.5)) {
    throw new InvalidOptionsError('driftFactor must be a number in [0, 0.5)', { option: 'driftFactor' });
  }
  const resolved = {
    ttlMs: durationOption('ttlMs', options.ttlMs ?? d.ttlMs),
    waitMs: durationOption('waitMs', options.waitMs ?? d.waitMs, 0),
    driftFactor,
    retryMinMs: durationOption('retryMinMs', options.retryMinMs ?? d.retryMinMs),
    retryMaxMs: durationOption('retryMaxMs', options.retryMaxMs ?? d.retryMaxMs),
    operationTimeoutMs: durationOption(
      'operationTimeoutMs',
      options.operationTimeoutMs ?? d.operationTimeoutMs,
    ),
  };
  if (resolved.retryMaxMs < resolved.retryMinMs) {
    throw new InvalidOptionsError('retryMaxMs must be >= retryMinMs', { option: 'retryMaxMs' });
  }
  if (driftMarginMs(resolved.ttlMs, driftFactor) >= resolved.ttlMs) {
    throw new InvalidOptionsError('ttlMs is shorter than its drift margin', { option: 'ttlMs' });
  }
  const adapter = options.adapter as unknown as Record<string, unknown> | undefined;
  if (
    adapter !== undefined &&
    ['acquire', 'release', 'extend', 'onRelease', 'close'].some((m) => typeof adapter?.[m] !== 'function')
  ) {
    throw new InvalidOptionsError(
      'adapter must implement LockAdapter (acquire, release, extend, onRelease, close)',
      {
        option: 'adapter',
      },
    );
  }
  const clock = options.clock;
  if (clock !== undefined && (typeof clock?.now !== 'function' || typeof clock.monotonic !== 'function')) {
    throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  return resolved;
}

/** @internal The margin kept before the server-side expiry, in ms. */
export function driftMarginMs(ttlMs: number, driftFactor: number): number {
  return Math.ceil(ttlMs * driftFactor) + 2;
}
