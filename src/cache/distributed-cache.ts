import type { CacheAdapter } from '../contracts/cache.js';
import { InvalidArgumentError } from '../errors.js';
import { durationArgument, keyArgument } from '../internal/validate.js';
import type { CircuitState } from '../resilience/circuit-breaker.js';
import { increment } from './counter.js';
import type { DistributedCacheEvents } from './events.js';
import { getOrSet } from './get-or-set.js';
import type { L1Entry } from './l1-bus.js';
import {
  checkCacheOptions,
  checkGetOrSetOptions,
  checkIncrementOptions,
  checkListener,
  checkSetManyEntry,
  checkSetNXOptions,
  checkSetOptions,
} from './option-checks.js';
import type {
  CacheEntryInput,
  CacheSetOptions,
  DistributedCacheOptions,
  GetOrSetOptions,
  Loader,
} from './options.js';
import { readMany, readOne } from './read.js';
import { removeMany, removeOne, removePrefix } from './remove.js';
import { defaultLoadOptions, type LoadOptions, resolveLoadOptions, resolveSetOptions } from './settings.js';
import { CacheState } from './state.js';
import { prepare } from './values.js';
import { type PreparedEntry, write, writeIfAbsent, writeMany } from './write.js';

const STATE: unique symbol = Symbol('scaleout.cache.state');

/** How `namespace()` builds a view on the same state (never a user's options object). */
interface NamespaceInit {
  [STATE]: CacheState;
  namespace: string;
}

function isNamespaceInit(value: unknown): value is NamespaceInit {
  return typeof value === 'object' && value !== null && STATE in value;
}

/**
 * A cache in front of slow data, shared by every instance of a service:
 * values live in an adapter (Redis via `redisCacheAdapter`, or memory), with
 * an optional in-process L1 tier in front.
 *
 * - `getOrSet` runs the loader once per cluster on a cold key (in-process
 *   single-flight plus a short refresh lock in the adapter; waiters are
 *   woken by pub/sub, with bounded fallback polling);
 * - with `graceMs`, stale values are served while one caller refreshes, or
 *   when the loader fails or is slower than `softTimeoutMs`;
 * - hot keys are refreshed before they expire (XFetch);
 * - a write or delete on one instance evicts the key from every other
 *   instance's L1 over the adapter's pub/sub bus;
 * - when the adapter is down or slow, reads fall back to L1 or the loader and
 *   writes are dropped with an `error` event (unless `failOpen: false`); a
 *   circuit stops calling a dead backend and probes it back.
 *
 * `increment` and `setNX` answer with a decision only the backend can make,
 * so they throw when it is unreachable even with `failOpen`.
 *
 * `close()` closes the adapter only when the cache created it (no `adapter`
 * option): an adapter you pass may be shared with other caches and
 * primitives, and stays open until you close it.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { DistributedCache } from 'scaleout';
 * import { redisCacheAdapter } from 'scaleout/redis';
 *
 * const cache = new DistributedCache({
 *   adapter: redisCacheAdapter({ connection: new Redis(process.env.REDIS_URL!) }),
 *   defaultTtlMs: 60_000,
 *   graceMs: 600_000,
 * });
 * const user = await cache.getOrSet(`user:${id}`, ({ signal }) => db.user(id, { signal }));
 * await cache.set(`user:${id}`, updated, { ttlMs: 60_000 });
 * const users = cache.namespace('users');
 * await users.clear();
 * ```
 */
export class DistributedCache {
  readonly #state: CacheState;
  readonly #ns: string;
  readonly #maxKeyLength: number;
  readonly #defaults: LoadOptions;

  constructor(options: DistributedCacheOptions = {}) {
    if (isNamespaceInit(options)) {
      this.#state = options[STATE];
      this.#ns = options.namespace;
    } else {
      checkCacheOptions(options);
      this.#state = new CacheState(options);
      this.#ns = '';
    }
    const s = this.#state.settings;
    this.#maxKeyLength = Math.max(1, s.maxKeyLength - this.#ns.length);
    this.#defaults = defaultLoadOptions(s);
  }

  /** The namespace prefix of this view (`''` for the root cache, `'users:'` for `namespace('users')`). */
  get prefix(): string {
    return this.#ns;
  }

  /**
   * The adapter values live in: the one you passed, or the memory adapter
   * the cache created (and closes with itself).
   *
   * @example
   * ```ts
   * await cache.close();
   * await cache.adapter.close(); // an adapter you passed is yours to close
   * ```
   */
  get adapter(): CacheAdapter {
    return this.#state.adapter;
  }

  /** State of the circuit around the adapter. */
  get circuitState(): CircuitState {
    return this.#state.backend.circuitState;
  }

  /**
   * State of the cross-instance invalidation bus: `subscribing`,
   * `subscribed`, `disconnected` (the adapter lost the connection carrying
   * it: other instances' writes are missed until it is back, then L1 is
   * flushed), `failed` (subscribing failed). What a lifecycle's `/ready` reads.
   */
  get busState(): 'subscribing' | 'subscribed' | 'disconnected' | 'failed' {
    return this.#state.bus.state;
  }

  /**
   * A view of this cache whose keys live under `name:`. It shares the
   * adapter, L1, events and circuit; its `clear()` removes only its keys.
   *
   * @example
   * ```ts
   * const users = cache.namespace('users');
   * await users.set('1', { name: 'Ada' }); // stored as "users:1"
   * await users.clear();                   // leaves other namespaces alone
   * ```
   */
  namespace(name: string): DistributedCache {
    keyArgument('name', name, 256);
    const init: NamespaceInit = { [STATE]: this.#state, namespace: `${this.#ns}${name}:` };
    return new DistributedCache(init as DistributedCacheOptions);
  }

  /**
   * Resolves once the cross-instance invalidation bus is subscribed.
   * Operations work before that; use it in tests and at start-up.
   *
   * @example
   * ```ts
   * await cache.ready();
   * ```
   */
  ready(): Promise<void> {
    return this.#state.ready;
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const off = cache.on('stale', ({ key, reason }) => log.info('served stale', { key, reason }));
   * ```
   */
  on<K extends keyof DistributedCacheEvents>(
    event: K,
    listener: (payload: DistributedCacheEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#state.events.on(event, listener);
  }

  /**
   * Unsubscribes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * cache.off('hit', onHit);
   * ```
   */
  off<K extends keyof DistributedCacheEvents>(
    event: K,
    listener: (payload: DistributedCacheEvents[K]) => void,
  ): void {
    checkListener(event, listener);
    this.#state.events.off(event, listener);
  }

  #key(key: string): string {
    this.#state.life.assertOpen();
    return this.#ns + keyArgument('key', key, this.#maxKeyLength);
  }

  /**
   * The fresh value under `key`, from L1 or the adapter; `undefined` when
   * absent or expired (the design's `get` answers `null`: test with
   * `== null` or `!value`). With the adapter down (fail-open), answers from
   * L1, stale values within grace included, else `undefined`. A stored
   * record scaleout cannot read (another program's text, a key of another
   * Redis type, a pollution payload) is a miss with an `error` event, not
   * returned as-is as the design's `get` did with non-JSON strings.
   *
   * @example
   * ```ts
   * const user = await cache.get<User>('user:1');
   * ```
   */
  get<T = unknown>(key: string): Promise<T | undefined> {
    let full: string;
    try {
      full = this.#key(key);
    } catch (err) {
      return Promise.reject(err);
    }
    const state = this.#state;
    const l1 = state.l1;
    let local: L1Entry | undefined;
    if (l1 !== undefined) {
      local = l1.get(full);
      if (local !== undefined && local.soft > state.clock.now()) {
        // The L1 hit path: no async frame, no allocation beyond the promise.
        if (state.events.has('hit')) state.events.emit('hit', { key: full, tier: 'l1' });
        state.telemetry?.hit('l1');
        return Promise.resolve(local.value as T);
      }
    }
    return readOne<T>(state, full, local, this.#defaults.graceMs);
  }

  /**
   * Stores `value` under `key` for `{ ttlMs, graceMs }` (default: the
   * cache's `defaultTtlMs`), in L1 and the adapter, and evicts it from other
   * instances' L1. Bad keys, values the serializer refuses or cannot give
   * back as they are (a Map, a Date, NaN: `SerializationError`) and values
   * over `maxValueBytes` throw typed errors and store nothing. A bare number
   * as the third argument (the design's `ttlSeconds`) is refused with
   * `InvalidOptionsError` naming `{ ttlMs }`. With the adapter down (fail-open) the
   * write is kept in L1 only and reported with an `error` event.
   *
   * @example
   * ```ts
   * await cache.set('user:1', { name: 'Ada' }, { ttlMs: 60_000 });
   * await cache.set('config', config, { ttlMs: 30_000, graceMs: 3_600_000 });
   * ```
   */
  async set(key: string, value: unknown, options?: CacheSetOptions): Promise<void> {
    const full = this.#key(key);
    checkSetOptions(options);
    const { ttlMs, graceMs } = resolveSetOptions(this.#defaults, options);
    await write(this.#state, full, value, ttlMs, graceMs, 0);
  }

  /**
   * Stores `value` only if `key` holds no fresh value; returns whether it
   * did. The key is free once its `ttlMs` passed, even while a grace period
   * keeps the stale value for `getOrSet`. Throws `ConnectionError` when the
   * adapter is unreachable (the answer cannot be guessed).
   *
   * @example
   * ```ts
   * if (await cache.setNX(`welcome-mail:${id}`, true, { ttlMs: 86_400_000 })) await sendWelcomeMail(id);
   * ```
   */
  async setNX(key: string, value: unknown, options?: CacheSetOptions): Promise<boolean> {
    const full = this.#key(key);
    checkSetNXOptions(options);
    const { ttlMs, graceMs } = resolveSetOptions(this.#defaults, options);
    return writeIfAbsent(this.#state, full, value, ttlMs, graceMs);
  }

  /**
   * Removes `key` here, in the adapter and in every instance's L1; returns
   * whether the adapter held it (false when it is down, fail-open).
   *
   * @example
   * ```ts
   * await cache.delete(`user:${id}`);
   * ```
   */
  async delete(key: string): Promise<boolean> {
    return removeOne(this.#state, this.#key(key));
  }

  /**
   * Adds `by` (default 1) to the integer under `key`, atomically across
   * instances, and returns the new value. `ttlMs` sets the key's expiry.
   * Throws `CorruptDataError` when the key holds something other than an
   * integer counter (text, another Redis type, a number past 2^53),
   * `InvalidArgumentError` when the result would leave the safe-integer
   * range (the counter is left as it was), and `ConnectionError` when the
   * adapter is unreachable.
   *
   * @example
   * ```ts
   * const views = await cache.increment(`views:${page}`);
   * const hits = await cache.increment(`rate:${ip}`, 1, { ttlMs: 60_000 });
   * ```
   */
  async increment(key: string, by = 1, options?: { ttlMs?: number }): Promise<number> {
    const full = this.#key(key);
    if (!Number.isSafeInteger(by)) {
      throw new InvalidArgumentError('by must be a safe integer', { argument: 'by' });
    }
    checkIncrementOptions(options);
    const ttlMs = options?.ttlMs === undefined ? undefined : durationArgument('ttlMs', options.ttlMs);
    return increment(this.#state, full, by, ttlMs);
  }

  /**
   * Values for several keys, one slot per key (`undefined` for a miss):
   * L1 first, then one adapter round trip for the rest.
   *
   * @example
   * ```ts
   * const [a, b] = await cache.getMany<User>(['user:1', 'user:2']);
   * ```
   */
  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    checkBatch(keys, 'keys');
    const full = Array.from(keys, (k) => this.#key(k));
    return readMany<T>(this.#state, full, this.#defaults.graceMs);
  }

  /**
   * Stores several values in one adapter round trip (validated first: one
   * bad entry stores none).
   *
   * @example
   * ```ts
   * await cache.setMany([{ key: 'user:1', value: u1 }, { key: 'user:2', value: u2, ttlMs: 5_000 }]);
   * ```
   */
  async setMany(entries: ReadonlyArray<CacheEntryInput>): Promise<void> {
    checkBatch(entries, 'entries');
    const state = this.#state;
    const now = state.clock.now();
    const prepared = Array.from(entries, (e): PreparedEntry => {
      if (typeof e !== 'object' || e === null) {
        throw new InvalidArgumentError('each entry must be an object', { argument: 'entries' });
      }
      checkSetManyEntry(e);
      const full = this.#key(e.key);
      const { ttlMs, graceMs } = resolveSetOptions(this.#defaults, {
        ttlMs: e.ttlMs,
        graceMs: e.graceMs,
      } as CacheSetOptions);
      return { full, ...prepare(state, e.value, ttlMs, graceMs, 0, now) };
    });
    await writeMany(state, prepared, now);
  }

  /**
   * Removes several keys everywhere; returns how many the adapter held.
   *
   * @example
   * ```ts
   * await cache.deleteMany(['user:1', 'user:2']);
   * ```
   */
  async deleteMany(keys: readonly string[]): Promise<number> {
    checkBatch(keys, 'keys');
    const full = Array.from(keys, (k) => this.#key(k));
    return removeMany(this.#state, full);
  }

  /**
   * Removes every key of this namespace (every key of the cache on the
   * root), here, in the adapter and in every instance's L1.
   *
   * @example
   * ```ts
   * await cache.namespace('users').clear();
   * ```
   */
  async clear(): Promise<void> {
    this.#state.life.assertOpen();
    await removePrefix(this.#state, this.#ns);
  }

  /**
   * The value under `key`, or the loader's value stored for next time.
   * Concurrent misses on a key run the loader once across every instance
   * sharing the adapter. See the class notes for grace, timeouts, early
   * refresh and fail-open.
   *
   * @example
   * ```ts
   * const price = await cache.getOrSet(`price:${sku}`, ({ signal }) => pricing.get(sku, { signal }), {
   *   ttlMs: 30_000,
   *   graceMs: 600_000,
   *   softTimeoutMs: 150,
   * });
   * ```
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    let full: string;
    let o: LoadOptions;
    try {
      full = this.#key(key);
      if (typeof loader !== 'function') {
        throw new InvalidArgumentError('loader must be a function', { argument: 'loader' });
      }
      checkGetOrSetOptions(options);
      o = options === undefined ? this.#defaults : resolveLoadOptions(this.#defaults, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return getOrSet(this.#state, full, loader, o);
  }

  /**
   * Waits for background work (refreshes, invalidation publishes, lock
   * releases) to settle. Useful in tests and before a graceful shutdown.
   *
   * @example
   * ```ts
   * await cache.settle();
   * ```
   */
  settle(): Promise<void> {
    return this.#state.settle();
  }

  /**
   * Stops the bus subscription, waits briefly (up to 2 s) for background
   * work, and clears L1. Closes the adapter only if the cache created it
   * (no `adapter` option); an adapter you passed stays open for the other
   * caches and primitives sharing it: close it yourself when done.
   * Idempotent (every call gets the same promise) and shared by every
   * namespace view of this cache.
   *
   * @example
   * ```ts
   * const adapter = redisCacheAdapter({ connection: redis });
   * const cache = new DistributedCache({ adapter });
   * // ...
   * await cache.close(); // the adapter stays open
   * await adapter.close(); // yours to close
   * ```
   */
  close(): Promise<void> {
    return this.#state.close();
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Most keys or entries one `getMany`/`setMany`/`deleteMany` takes. */
const MAX_BATCH = 100_000;

/**
 * An array of at most {@link MAX_BATCH} items; holes are then read as
 * `undefined` (Array.from), so a sparse array gets the typed error of its
 * first hole instead of being skipped.
 */
function checkBatch(items: unknown, argument: 'keys' | 'entries'): void {
  if (!Array.isArray(items)) throw new InvalidArgumentError(`${argument} must be an array`, { argument });
  if (items.length > MAX_BATCH) {
    throw new InvalidArgumentError(`${argument}: at most ${MAX_BATCH} per call (got ${items.length})`, {
      argument,
    });
  }
}
