import { InvalidOptionsError } from '../errors.js';
import { type Clock, systemClock } from '../types.js';

/** Options of {@link LruMap}. */
export interface LruOptions<K, V> {
  /** Most entries kept. @default 10_000 */
  maxEntries?: number;
  /** Most total size kept, in the units of `sizeOf`. @default Infinity */
  maxSize?: number;
  /** Size of one entry (e.g. bytes of its serialized form). @default () => 1 */
  sizeOf?: (value: V, key: K) => number;
  /** Called for every entry removed to make room or found expired (not for delete/clear). */
  onEvict?: (key: K, value: V, reason: 'capacity' | 'expired') => void;
  /** Time source for expiry (its `now()`, ms since the epoch). @default systemClock */
  clock?: Clock;
}

interface Entry<V> {
  value: V;
  size: number;
  /** Absolute expiry in ms; Infinity for none. */
  expiresAt: number;
}

/**
 * A bounded least-recently-used map with optional per-entry expiry. Bounded
 * by entry count and by total size; expiry is checked lazily on access (no
 * timer per key), and expired entries are also reclaimed as eviction walks
 * the old end. All operations are O(1) amortised (a `Map` keeps recency
 * order: a hit re-inserts the key at the young end).
 */
export class LruMap<K, V> {
  readonly #map = new Map<K, Entry<V>>();
  readonly #maxEntries: number;
  readonly #maxSize: number;
  readonly #sizeOf: (value: V, key: K) => number;
  readonly #onEvict: LruOptions<K, V>['onEvict'];
  readonly #now: () => number;
  #size = 0;

  constructor(options: LruOptions<K, V> = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new InvalidOptionsError('maxEntries must be an integer >= 1', { option: 'maxEntries' });
    }
    if (!(this.#maxSize > 0)) throw new InvalidOptionsError('maxSize must be > 0', { option: 'maxSize' });
    this.#sizeOf = options.sizeOf ?? (() => 1);
    this.#onEvict = options.onEvict;
    const clock = options.clock;
    // The system clock's now() is Date.now: read it directly on this hot path.
    this.#now = clock === undefined || clock === systemClock ? Date.now : () => clock.now();
  }

  /** Number of entries held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.#map.size;
  }

  /** Total size of the entries held. */
  get totalSize(): number {
    return this.#size;
  }

  /** The value for `key`, refreshing its recency; `undefined` if absent or expired. */
  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(key, entry);
      this.#onEvict?.(key, entry.value, 'expired');
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** Like {@link get} without touching recency, and also returns the expiry. */
  peek(key: K): { value: V; expiresAt: number } | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined || entry.expiresAt <= this.#now()) return undefined;
    return { value: entry.value, expiresAt: entry.expiresAt };
  }

  /** Whether a live entry exists for `key`. */
  has(key: K): boolean {
    return this.peek(key) !== undefined;
  }

  /**
   * Stores `value`, expiring after `ttlMs` (omit for no expiry). An entry
   * larger than `maxSize` on its own is not stored (returns false).
   */
  set(key: K, value: V, ttlMs?: number): boolean {
    const size = this.#sizeOf(value, key);
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(key, old);
    if (size > this.#maxSize) return false;
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.#now() + ttlMs;
    this.#map.set(key, { value, size, expiresAt });
    this.#size += size;
    this.#shrink();
    return true;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: K): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#remove(key, entry);
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.#map.clear();
    this.#size = 0;
  }

  /** Keys from oldest to youngest (expired ones not yet reclaimed included). */
  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  #remove(key: K, entry: Entry<V>): void {
    this.#map.delete(key);
    this.#size -= entry.size;
  }

  #shrink(): void {
    if (this.#map.size <= this.#maxEntries && this.#size <= this.#maxSize) return;
    const now = this.#now();
    for (const [key, entry] of this.#map) {
      if (this.#map.size <= this.#maxEntries && this.#size <= this.#maxSize) break;
      this.#remove(key, entry);
      this.#onEvict?.(key, entry.value, entry.expiresAt <= now ? 'expired' : 'capacity');
    }
  }
}
