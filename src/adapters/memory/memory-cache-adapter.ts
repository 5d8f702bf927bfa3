import type {
  CacheAdapter,
  CacheAdapterClearOptions,
  CacheAdapterEntry,
  CacheAdapterIncrementOptions,
  CacheAdapterSetOptions,
  CacheAdapterSubscribeOptions,
} from '../../contracts/cache.js';
import {
  CacheValueTooLargeError,
  ClosedError,
  CorruptDataError,
  InvalidArgumentError,
  InvalidOptionsError,
} from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { LruMap } from '../../internal/lru.js';
import { optionsChecker } from '../../internal/validate.js';
import { type Clock, type Subscription, systemClock } from '../../types.js';

/**
 * Options of {@link MemoryCacheAdapter} / {@link memoryCacheAdapter}.
 *
 * @example
 * ```ts
 * const adapter = memoryCacheAdapter({ maxEntries: 50_000, maxBytes: 128 * 1024 * 1024 });
 * ```
 */
export interface MemoryCacheAdapterOptions {
  /** Most entries kept; the least recently used go first. @default 100_000 */
  maxEntries?: number;
  /**
   * Most total size kept, in bytes (UTF-8 length of keys and values). A
   * write of one entry larger than this is refused with
   * `CacheValueTooLargeError`, the key keeping its value. @default 268_435_456 (256 MiB)
   */
  maxBytes?: number;
  /** Time source for expiry (its `now()`, ms since the epoch). @default systemClock */
  clock?: Clock;
  /**
   * Time source for expiry, ms since the epoch.
   * @deprecated Pass `clock` (a {@link Clock}); `now` is still read when `clock` is absent.
   */
  now?: () => number;
}

/**
 * The defaults of {@link MemoryCacheAdapterOptions}.
 *
 * @example
 * ```ts
 * MEMORY_CACHE_ADAPTER_DEFAULTS.maxEntries; // 100_000
 * ```
 */
export const MEMORY_CACHE_ADAPTER_DEFAULTS = {
  /** Default of {@link MemoryCacheAdapterOptions.maxEntries}. */
  maxEntries: 100_000,
  /** Default of {@link MemoryCacheAdapterOptions.maxBytes}. */
  maxBytes: 256 * 1024 * 1024,
  /** Default of {@link MemoryCacheAdapterOptions.clock}. */
  clock: systemClock,
} as const satisfies Required<Omit<MemoryCacheAdapterOptions, 'now'>>;

/** The bytes an entry counts toward `maxBytes`: its key and value in UTF-8. */
function entryBytes(value: string, key: string): number {
  return Buffer.byteLength(value) + Buffer.byteLength(key);
}

/** An integer as Redis writes and reads one: no sign on 0, no leading zeros. */
const INTEGER = /^(?:0|-?[1-9]\d*)$/;

const checkOptions = optionsChecker({
  where: 'memoryCacheAdapter() options',
  keys: ['maxEntries', 'maxBytes', 'clock', 'now'],
  hints: { max: 'maxEntries', maxSize: 'maxBytes' },
});

/**
 * An in-process {@link CacheAdapter}: a bounded LRU map (by entries and by
 * bytes) with lazy expiry (no timer per key), and in-process pub/sub. Share
 * one instance between several caches to have them behave like instances
 * on one Redis.
 *
 * @example
 * ```ts
 * const adapter = new MemoryCacheAdapter({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 });
 * const cache = new DistributedCache({ adapter });
 * ```
 */
export class MemoryCacheAdapter implements CacheAdapter {
  readonly #map: LruMap<string, string>;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #channels = new Map<string, Set<CacheAdapterSubscribeOptions>>();
  #closed = false;

  constructor(options: MemoryCacheAdapterOptions = {}) {
    checkOptions(options);
    const maxEntries = options.maxEntries ?? MEMORY_CACHE_ADAPTER_DEFAULTS.maxEntries;
    const maxBytes = options.maxBytes ?? MEMORY_CACHE_ADAPTER_DEFAULTS.maxBytes;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionsError('maxEntries must be an integer >= 1', { option: 'maxEntries' });
    }
    if (typeof maxBytes !== 'number' || !(maxBytes >= 1)) {
      throw new InvalidOptionsError('maxBytes must be a number >= 1', { option: 'maxBytes' });
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidOptionsError('now must be a function returning ms since the epoch', { option: 'now' });
    }
    const clock = options.clock;
    if (clock !== undefined) {
      if (typeof clock?.now !== 'function' || typeof clock.monotonic !== 'function') {
        throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
      }
      if (options.now !== undefined) {
        throw new InvalidOptionsError('pass clock only: now is its deprecated form', { option: 'now' });
      }
    }
    const legacyNow = options.now;
    const expiryClock: Clock | undefined =
      clock ?? (legacyNow === undefined ? undefined : { now: legacyNow, monotonic: legacyNow });
    // The system clock's now() is Date.now: read it directly on this hot path.
    this.#now = expiryClock === undefined ? Date.now : () => expiryClock.now();
    this.#maxBytes = maxBytes;
    this.#map = new LruMap<string, string>({
      maxEntries,
      maxSize: maxBytes,
      sizeOf: entryBytes,
      clock: expiryClock,
    });
  }

  /**
   * Refuses an entry larger than `maxBytes` on its own: the map would drop
   * it (and the key's previous value) and the write would look stored.
   */
  #checkFits(key: string, value: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most entries skip the count.
    if ((key.length + value.length) * 3 <= this.#maxBytes) return;
    const bytes = entryBytes(value, key);
    if (bytes > this.#maxBytes) {
      throw new CacheValueTooLargeError(
        `the entry is ${bytes} bytes (key and value), more than the memory adapter's maxBytes (${this.#maxBytes}): it can never be stored; the key keeps its value`,
        { bytes, maxBytes: this.#maxBytes },
      );
    }
  }

  /** Number of entries held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.#map.size;
  }

  /** Total bytes held. */
  get bytes(): number {
    return this.#map.totalSize;
  }

  #check(): void {
    if (this.#closed) throw new ClosedError('memory cache adapter is closed');
  }

  async get(key: string): Promise<string | undefined> {
    this.#check();
    return this.#map.get(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | undefined>> {
    this.#check();
    return keys.map((key) => this.#map.get(key));
  }

  async set(key: string, value: string, options?: CacheAdapterSetOptions): Promise<void> {
    this.#check();
    this.#checkFits(key, value);
    this.#map.set(key, value, options?.ttlMs);
  }

  async setMany(entries: readonly CacheAdapterEntry[]): Promise<void> {
    this.#check();
    // All or nothing: one entry that can never fit stores none.
    for (const entry of entries) this.#checkFits(entry.key, entry.value);
    for (const entry of entries) this.#map.set(entry.key, entry.value, entry.ttlMs);
  }

  async setIfAbsent(key: string, value: string, options?: CacheAdapterSetOptions): Promise<boolean> {
    this.#check();
    this.#checkFits(key, value);
    if (this.#map.has(key)) return false;
    return this.#map.set(key, value, options?.ttlMs);
  }

  async delete(key: string): Promise<boolean> {
    this.#check();
    const live = this.#map.has(key);
    this.#map.delete(key);
    return live;
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    this.#check();
    if (this.#map.peek(key)?.value !== value) return false;
    return this.#map.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    this.#check();
    let count = 0;
    for (const key of keys) {
      if (this.#map.has(key)) count++;
      this.#map.delete(key);
    }
    return count;
  }

  async increment(key: string, options: CacheAdapterIncrementOptions): Promise<number> {
    this.#check();
    const current = this.#map.peek(key);
    let base = 0;
    let ttlMs: number | undefined = options.ttlMs;
    if (current !== undefined) {
      base = Number(current.value);
      if (!INTEGER.test(current.value) || !Number.isSafeInteger(base)) {
        throw new CorruptDataError('the value stored under this key is not an integer counter', { key });
      }
      if (ttlMs === undefined && Number.isFinite(current.expiresAt)) {
        ttlMs = Math.max(1, current.expiresAt - this.#now());
      }
    }
    const next = base + options.by;
    if (!Number.isSafeInteger(next)) {
      throw new InvalidArgumentError(
        'increment would take the counter outside the safe integer range (+-(2^53 - 1)); it is unchanged',
        { argument: 'by' },
      );
    }
    this.#checkFits(key, String(next));
    this.#map.set(key, String(next), ttlMs);
    return next;
  }

  async clear(options?: CacheAdapterClearOptions): Promise<number> {
    this.#check();
    const prefix = options?.prefix;
    if (prefix === undefined || prefix === '') {
      let live = 0;
      for (const key of this.#map.keys()) if (this.#map.has(key)) live++;
      this.#map.clear();
      return live;
    }
    const doomed: string[] = [];
    for (const key of this.#map.keys()) if (key.startsWith(prefix)) doomed.push(key);
    let count = 0;
    for (const key of doomed) {
      if (this.#map.has(key)) count++;
      this.#map.delete(key);
    }
    return count;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#check();
    const subscribers = this.#channels.get(channel);
    if (subscribers === undefined) return;
    for (const subscriber of [...subscribers]) {
      queueMicrotask(() => {
        if (subscribers.has(subscriber)) subscriber.onMessage(message);
      });
    }
  }

  async subscribe(channel: string, options: CacheAdapterSubscribeOptions): Promise<Subscription> {
    this.#check();
    let subscribers = this.#channels.get(channel);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#channels.set(channel, subscribers);
    }
    // Messages reach it in the async context of this call, not the publisher's.
    const entry: CacheAdapterSubscribeOptions = {
      onMessage: bindToCurrentContext((message: string) => options.onMessage(message)),
    };
    subscribers.add(entry);
    return {
      unsubscribe: async () => {
        subscribers.delete(entry);
        if (subscribers.size === 0 && this.#channels.get(channel) === subscribers) {
          this.#channels.delete(channel);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    this.#map.clear();
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Makes an in-process {@link CacheAdapter} (see {@link MemoryCacheAdapter}).
 *
 * @example
 * ```ts
 * const cache = new DistributedCache({ adapter: memoryCacheAdapter({ maxEntries: 10_000 }) });
 * ```
 */
export function memoryCacheAdapter(options: MemoryCacheAdapterOptions = {}): MemoryCacheAdapter {
  return new MemoryCacheAdapter(options);
}
