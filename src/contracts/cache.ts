/**
 * The port between {@link DistributedCache} and a storage back end. It lists
 * only the operations the cache calls. Values are opaque strings (the cache
 * serializes); every duration is in milliseconds.
 *
 * An adapter must be safe to share between several caches, and must deliver
 * messages published on a channel to every subscriber of that channel, in
 * this process and (for a networked back end) in every other process using
 * the same back end and prefix. Messages one adapter publishes on a channel
 * arrive in the order it published them.
 *
 * @module
 */

import type { Subscription } from '../types.js';

/**
 * Options of {@link CacheAdapter.set} and {@link CacheAdapter.setIfAbsent}.
 *
 * @example
 * ```ts
 * await adapter.set('k', 'v', { ttlMs: 60_000 });
 * ```
 */
export interface CacheAdapterSetOptions {
  /** Time to live in ms; omit to keep the entry until evicted or deleted. */
  ttlMs?: number | undefined;
}

/**
 * One entry of {@link CacheAdapter.setMany}.
 *
 * @example
 * ```ts
 * await adapter.setMany([{ key: 'a', value: '1', ttlMs: 1_000 }, { key: 'b', value: '2' }]);
 * ```
 */
export interface CacheAdapterEntry {
  /** The key. */
  key: string;
  /** The stored text. */
  value: string;
  /** Time to live in ms; omit for none. */
  ttlMs?: number | undefined;
}

/**
 * Options of {@link CacheAdapter.increment}.
 *
 * @example
 * ```ts
 * const n = await adapter.increment('views', { by: 1, ttlMs: 86_400_000 });
 * ```
 */
export interface CacheAdapterIncrementOptions {
  /** The (integer) amount to add; may be negative. */
  by: number;
  /** When set, the key's TTL is set to this after the increment. */
  ttlMs?: number | undefined;
}

/**
 * Options of {@link CacheAdapter.clear}.
 *
 * @example
 * ```ts
 * await adapter.clear({ prefix: 'v:users:' });
 * ```
 */
export interface CacheAdapterClearOptions {
  /** Only keys starting with this text are removed; omit to remove every key of the adapter. */
  prefix?: string | undefined;
}

/**
 * Callbacks of {@link CacheAdapter.subscribe}.
 *
 * @example
 * ```ts
 * const subscription = await adapter.subscribe('bus', { onMessage: (m) => handle(m), onReconnect: () => l1.clear() });
 * ```
 */
export interface CacheAdapterSubscribeOptions {
  /** Called with each message published on the channel (including this process's own). */
  onMessage(message: string): void;
  /**
   * Called when the subscription was interrupted and is live again: messages
   * published meanwhile may have been missed.
   */
  onReconnect?(): void;
  /**
   * Called when the subscription was interrupted (the connection carrying
   * it was lost): messages published from now on are missed until
   * `onReconnect`. May be called more than once per interruption. Optional
   * for adapters (an in-process one is never interrupted).
   */
  onDisconnect?(): void;
}

/**
 * What {@link DistributedCache} needs from a store: strings with TTLs, an
 * atomic set-if-absent (also its refresh lock), an atomic compare-and-delete
 * (to release that lock), an atomic counter, prefix clearing, and a pub/sub
 * channel for cross-instance invalidation.
 *
 * Implementations in this package: `memoryCacheAdapter()` (in-process) and
 * `redisCacheAdapter()` from `scaleout/redis`. Check a custom adapter with
 * `cacheAdapterConformance` from `scaleout/testing`.
 *
 * @example
 * ```ts
 * const adapter: CacheAdapter = memoryCacheAdapter({ maxEntries: 50_000 });
 * await adapter.set('user:1', '{"id":1}', { ttlMs: 60_000 });
 * await adapter.get('user:1'); // '{"id":1}'
 * ```
 */
export interface CacheAdapter {
  /** The text stored under `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Like {@link get} for several keys; the result has one slot per key, in order. */
  getMany(keys: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Stores `value` under `key`, replacing any previous value and TTL. A
   * store with a size bound rejects an entry that can never fit with a
   * `CacheValueTooLargeError` (`ERR_CACHE_VALUE_TOO_LARGE`), leaving the key
   * as it was (so do {@link setMany} and {@link setIfAbsent}).
   */
  set(key: string, value: string, options?: CacheAdapterSetOptions): Promise<void>;
  /** Stores several entries (one round trip where the store allows it). */
  setMany(entries: readonly CacheAdapterEntry[]): Promise<void>;
  /** Stores `value` only if `key` is absent; returns whether it stored it. */
  setIfAbsent(key: string, value: string, options?: CacheAdapterSetOptions): Promise<boolean>;
  /** Removes `key`; returns whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Removes `key` only if it holds exactly `value` (atomic); returns whether it did. */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Removes several keys; returns how many existed. */
  deleteMany(keys: readonly string[]): Promise<number>;
  /**
   * Adds `by` to the integer stored under `key` (absent counts as 0) and
   * returns the new value. Rejects, changing nothing, with a
   * `CorruptDataError` (`ERR_CORRUPT_DATA`) when the stored text is not an
   * integer in Redis syntax within +-(2^53 - 1), and with an
   * `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`) when the result would
   * leave that range. Other data errors of a store (a key of another type)
   * should also be `CorruptDataError`s, never connection errors.
   */
  increment(key: string, options: CacheAdapterIncrementOptions): Promise<number>;
  /** Removes every key (or every key starting with `prefix`); returns how many. */
  clear(options?: CacheAdapterClearOptions): Promise<number>;
  /** Publishes `message` to every subscriber of `channel`, after this adapter's earlier messages on it. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Subscribes to `channel`; resolves once live, with the
   * {@link Subscription} that ends it (`unsubscribe()` is idempotent). The
   * callbacks run in the async context of this call, not the publisher's
   * nor that of the call that opened a connection.
   */
  subscribe(channel: string, options: CacheAdapterSubscribeOptions): Promise<Subscription>;
  /**
   * Releases what the adapter owns (connections it created, subscriptions);
   * idempotent. Called by whoever created the adapter: a cache closes only
   * an adapter it created itself, never one passed to it.
   */
  close(): Promise<void>;
}
