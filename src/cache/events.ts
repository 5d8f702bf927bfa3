/**
 * Payload of the `hit` event.
 *
 * @example
 * ```ts
 * cache.on('hit', (e: CacheHitEvent) => hits.inc({ tier: e.tier }));
 * ```
 */
export interface CacheHitEvent {
  /** The cache key (namespace included). */
  key: string;
  /** `l1`: the in-process tier; `l2`: the adapter. */
  tier: 'l1' | 'l2';
}

/**
 * Payload of the `miss` event.
 *
 * @example
 * ```ts
 * cache.on('miss', (e: CacheMissEvent) => misses.inc());
 * ```
 */
export interface CacheMissEvent {
  /** The cache key (namespace included). */
  key: string;
}

/**
 * Payload of the `stale` event.
 *
 * @example
 * ```ts
 * cache.on('stale', (e: CacheStaleEvent) => stale.inc({ reason: e.reason }));
 * ```
 */
export interface CacheStaleEvent {
  /** The cache key (namespace included). */
  key: string;
  /**
   * Why a stale value was served: another caller refreshes it (`grace`), the
   * loader failed (`loader-error`) or was slower than the soft timeout
   * (`soft-timeout`), or the adapter is down (`backend-down`).
   */
  reason: 'grace' | 'loader-error' | 'soft-timeout' | 'backend-down';
}

/**
 * Payload of the `refresh` event.
 *
 * @example
 * ```ts
 * cache.on('refresh', (e: CacheRefreshEvent) => loadTime.observe(e.durationMs));
 * ```
 */
export interface CacheRefreshEvent {
  /** The cache key (namespace included). */
  key: string;
  /** How long the loader took, ms. */
  durationMs: number;
  /** Whether it ran in the background (callers were served another value meanwhile). */
  background: boolean;
  /** Whether it was an XFetch early refresh. */
  early: boolean;
}

/**
 * Payload of the `error` event.
 *
 * @example
 * ```ts
 * cache.on('error', (e: CacheErrorEvent) => log.warn('cache degraded', { op: e.operation, dropped: e.dropped }));
 * ```
 */
export interface CacheErrorEvent {
  /**
   * What failed: `get`, `set`, `lock`, `refresh`, `deserialize`, `publish`,
   * `subscribe`, `bus` (a message on the bus that scaleout did not publish)...
   * A record another program wrote under a cache key comes with a
   * `CorruptDataError` (`ERR_CORRUPT_DATA`): a data error, not an outage.
   */
  operation: string;
  /** The cache key, when one key was involved. */
  key?: string | undefined;
  /** The error. */
  error: unknown;
  /** Whether a write was lost (fail-open). */
  dropped: boolean;
}

/**
 * Payload of the `circuit` event.
 *
 * @example
 * ```ts
 * cache.on('circuit', (e: CacheCircuitEvent) => log.info('cache circuit', { state: e.state }));
 * ```
 */
export interface CacheCircuitEvent {
  /** The new state of the circuit around the adapter. */
  state: 'open' | 'half-open' | 'closed';
}

/**
 * Payload of the `flush` event.
 *
 * @example
 * ```ts
 * cache.on('flush', (e: CacheFlushEvent) => log.info('L1 flushed', { reason: e.reason }));
 * ```
 */
export interface CacheFlushEvent {
  /** Why L1 was flushed. */
  reason: 'bus-reconnect' | 'backend-recovered';
}

/**
 * Events of {@link DistributedCache}, for metrics and logs. Keys are the
 * cache keys (namespace included), never values.
 *
 * @example
 * ```ts
 * cache.on('hit', ({ tier }) => hits.inc({ tier }));
 * cache.on('error', ({ operation, error }) => log.warn('cache degraded', { operation, error }));
 * ```
 */
export type DistributedCacheEvents = {
  /** A fresh value was found in `l1` (in-process) or `l2` (the adapter). */
  hit: CacheHitEvent;
  /** No fresh value was found. */
  miss: CacheMissEvent;
  /** A stale value (past its TTL, within grace) was served. */
  stale: CacheStaleEvent;
  /** A loader ran and its value was stored. */
  refresh: CacheRefreshEvent;
  /**
   * Something failed without reaching the caller: an adapter call while
   * fail-open, a background refresh, an unreadable stored value, the bus.
   */
  error: CacheErrorEvent;
  /** The circuit around the adapter changed state. */
  circuit: CacheCircuitEvent;
  /** The L1 tier was flushed (the bus reconnected, or the adapter recovered). */
  flush: CacheFlushEvent;
};
