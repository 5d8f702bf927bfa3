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
  hit: { key: string; tier: 'l1' | 'l2' };
  /** No fresh value was found. */
  miss: { key: string };
  /**
   * A stale value (past its TTL, within grace) was served: while another
   * caller refreshes (`grace`), because the loader failed (`loader-error`) or
   * was slow (`soft-timeout`), or because the adapter is down (`backend-down`).
   */
  stale: { key: string; reason: 'grace' | 'loader-error' | 'soft-timeout' | 'backend-down' };
  /** A loader ran and its value was stored. `early` marks an XFetch early refresh. */
  refresh: { key: string; durationMs: number; background: boolean; early: boolean };
  /**
   * Something failed without reaching the caller: an adapter call while
   * fail-open (`dropped` tells whether a write was lost), a background
   * refresh, an unreadable stored value, the invalidation bus.
   */
  error: { operation: string; key?: string | undefined; error: unknown; dropped: boolean };
  /** The circuit around the adapter changed state. */
  circuit: { state: 'open' | 'half-open' | 'closed' };
  /** The L1 tier was flushed (after the invalidation bus reconnected, or the adapter recovered). */
  flush: { reason: 'bus-reconnect' | 'backend-recovered' };
};
