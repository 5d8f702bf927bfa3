import type { CacheAdapter } from '../contracts/cache.js';
import type { BaseOptions, Clock, Logger, Serializer } from '../types.js';

/**
 * Options of {@link DistributedCache}. All are optional; durations are in
 * milliseconds.
 *
 * @example
 * ```ts
 * const options: DistributedCacheOptions = {
 *   adapter: redisCacheAdapter({ connection: redis }),
 *   defaultTtlMs: 60_000,
 *   graceMs: 300_000,
 *   softTimeoutMs: 200,
 * };
 * ```
 */
export interface DistributedCacheOptions extends BaseOptions<CacheAdapter> {
  /**
   * Where values live (the L2 tier): `redisCacheAdapter(...)` or a memory
   * adapter. An adapter you pass is never closed by the cache (it may be
   * shared); one the cache creates is closed by `close()`.
   * @default a new `memoryCacheAdapter({ clock })`, closed with the cache
   */
  adapter?: CacheAdapter;
  /** Time to live of a value when `set`/`getOrSet` give none, ms. @default 300_000 (5 minutes) */
  defaultTtlMs?: number;
  /**
   * How long after its TTL an entry may still be served as stale by
   * `getOrSet` (while one caller refreshes it, or when the loader fails or
   * is slow), ms. 0 disables stale serving.
   * @default 0
   */
  graceMs?: number;
  /** Keep an in-process L1 tier of deserialized values in front of the adapter. @default true */
  l1?: boolean;
  /** Most entries in the L1 tier. @default 10_000 */
  l1MaxEntries?: number;
  /** Most bytes (length of the serialized form) in the L1 tier. @default 67_108_864 (64 MiB) */
  l1MaxBytes?: number;
  /**
   * Longest time an L1 entry is trusted without re-reading the adapter, ms:
   * a bound on staleness should an invalidation message be lost.
   * @default 60_000
   */
  l1TtlMs?: number;
  /**
   * Lease of the cross-instance refresh lock taken by the instance that runs
   * a loader; another instance takes over after it expires, ms.
   * @default 10_000
   */
  lockTtlMs?: number;
  /** First fallback poll delay of an instance waiting for another's loader, ms (doubles up to `waitPollMaxMs`). @default 50 */
  waitPollMinMs?: number;
  /** Longest fallback poll delay while waiting for another instance's loader, ms. @default 1_000 */
  waitPollMaxMs?: number;
  /**
   * With a stale value at hand, the caller that takes the refresh waits at
   * most this long for the loader, then gets the stale value (the loader
   * keeps running and stores its result); other callers get the stale value
   * at once, ms. 0: every caller gets the stale value at once and the refresh
   * runs in the background.
   * @default 0
   */
  softTimeoutMs?: number;
  /** A loader slower than this fails with `TimeoutError` (or serves stale when there is one), and its signal aborts, ms. @default 10_000 */
  hardTimeoutMs?: number;
  /**
   * XFetch parameter (beta): how eagerly a hot key is refreshed before it
   * expires, scaled by how long its loader took. 0 disables early refresh.
   * @default 1
   */
  earlyRefreshBeta?: number;
  /** An adapter call slower than this counts as a failure (fail-open applies), ms. @default 1_000 */
  operationTimeoutMs?: number;
  /**
   * When the adapter fails or times out: `true` serves from L1 / the loader
   * and drops writes with an `error` event; `false` throws `ConnectionError`
   * / `TimeoutError` to the caller.
   * @default true
   */
  failOpen?: boolean;
  /** Consecutive adapter failures that open the circuit (calls then skip the adapter). @default 5 */
  circuitThreshold?: number;
  /** How long the circuit stays open before one probe call is let through, ms. @default 2_000 */
  circuitOpenMs?: number;
  /** Largest serialized value accepted, bytes (UTF-8). @default 1_048_576 (1 MiB) */
  maxValueBytes?: number;
  /** Longest key accepted (namespace included), characters. @default 1_024 */
  maxKeyLength?: number;
  /** Encodes values. @default jsonSerializer (refuses prototype-pollution payloads) */
  serializer?: Serializer;
  /** Receives warnings about listener failures. @default noopLogger */
  logger?: Logger;
  /** Time source: wall-clock `now()` for expiry, `monotonic()` for load times and the circuit. @default systemClock */
  clock?: Clock;
}

/**
 * The defaults of {@link DistributedCacheOptions}.
 *
 * @example
 * ```ts
 * DISTRIBUTED_CACHE_DEFAULTS.defaultTtlMs; // 300_000
 * ```
 */
export const DISTRIBUTED_CACHE_DEFAULTS = {
  /** Default of {@link DistributedCacheOptions.defaultTtlMs}. */
  defaultTtlMs: 300_000,
  /** Default of {@link DistributedCacheOptions.graceMs}. */
  graceMs: 0,
  /** Default of {@link DistributedCacheOptions.l1}. */
  l1: true,
  /** Default of {@link DistributedCacheOptions.l1MaxEntries}. */
  l1MaxEntries: 10_000,
  /** Default of {@link DistributedCacheOptions.l1MaxBytes}. */
  l1MaxBytes: 64 * 1024 * 1024,
  /** Default of {@link DistributedCacheOptions.l1TtlMs}. */
  l1TtlMs: 60_000,
  /** Default of {@link DistributedCacheOptions.lockTtlMs}. */
  lockTtlMs: 10_000,
  /** Default of {@link DistributedCacheOptions.waitPollMinMs}. */
  waitPollMinMs: 50,
  /** Default of {@link DistributedCacheOptions.waitPollMaxMs}. */
  waitPollMaxMs: 1_000,
  /** Default of {@link DistributedCacheOptions.softTimeoutMs}. */
  softTimeoutMs: 0,
  /** Default of {@link DistributedCacheOptions.hardTimeoutMs}. */
  hardTimeoutMs: 10_000,
  /** Default of {@link DistributedCacheOptions.earlyRefreshBeta}. */
  earlyRefreshBeta: 1,
  /** Default of {@link DistributedCacheOptions.operationTimeoutMs}. */
  operationTimeoutMs: 1_000,
  /** Default of {@link DistributedCacheOptions.failOpen}. */
  failOpen: true,
  /** Default of {@link DistributedCacheOptions.circuitThreshold}. */
  circuitThreshold: 5,
  /** Default of {@link DistributedCacheOptions.circuitOpenMs}. */
  circuitOpenMs: 2_000,
  /** Default of {@link DistributedCacheOptions.maxValueBytes}. */
  maxValueBytes: 1024 * 1024,
  /** Default of {@link DistributedCacheOptions.maxKeyLength}. */
  maxKeyLength: 1024,
} as const;

/**
 * Options of one `set` call.
 *
 * @example
 * ```ts
 * await cache.set('config', config, { ttlMs: 30_000, graceMs: 3_600_000 });
 * ```
 */
export interface CacheSetOptions {
  /** Time to live, ms. @default the cache's `defaultTtlMs` */
  ttlMs?: number;
  /** Grace period after the TTL, ms. @default the cache's `graceMs` */
  graceMs?: number;
}

/**
 * Options of one `getOrSet` call; each overrides the cache's option of the same name.
 *
 * @example
 * ```ts
 * await cache.getOrSet('k', load, { ttlMs: 10_000, graceMs: 60_000, softTimeoutMs: 100, hardTimeoutMs: 2_000 });
 * ```
 */
export interface GetOrSetOptions extends CacheSetOptions {
  /** @default the cache's `softTimeoutMs` */
  softTimeoutMs?: number;
  /** @default the cache's `hardTimeoutMs` */
  hardTimeoutMs?: number;
  /** @default the cache's `earlyRefreshBeta` */
  earlyRefreshBeta?: number;
}

/**
 * What a `getOrSet` loader receives.
 *
 * @example
 * ```ts
 * await cache.getOrSet('user:1', ({ signal }) => fetch(url, { signal }).then((r) => r.json()));
 * ```
 */
export interface LoaderContext {
  /** Aborts when the hard timeout fires; pass it to your database or HTTP call. */
  signal: AbortSignal;
  /** The cache key (namespace included). */
  key: string;
}

/**
 * A `getOrSet` loader: produces the value on a miss.
 *
 * @example
 * ```ts
 * const loadUser: Loader<User> = ({ signal }) => db.users.find(1, { signal });
 * ```
 */
export type Loader<T> = (context: LoaderContext) => T | Promise<T>;

/**
 * One entry of `setMany`.
 *
 * @example
 * ```ts
 * await cache.setMany([{ key: 'user:1', value: u1 }, { key: 'user:2', value: u2, ttlMs: 5_000 }]);
 * ```
 */
export interface CacheEntryInput<T = unknown> {
  /** The key. */
  key: string;
  /** The value (anything the serializer accepts). */
  value: T;
  /** Time to live, ms. @default the cache's `defaultTtlMs` */
  ttlMs?: number;
  /** Grace period after the TTL, ms. @default the cache's `graceMs` */
  graceMs?: number;
}
