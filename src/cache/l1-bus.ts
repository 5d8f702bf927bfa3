import type { CacheAdapter } from '../contracts/cache.js';
import { CorruptDataError } from '../errors.js';
import type { TypedEmitter } from '../internal/events.js';
import type { Lifecycle } from '../internal/lifecycle.js';
import { LruMap } from '../internal/lru.js';
import type { Clock, Subscription } from '../types.js';
import { backendError, type CacheBackend } from './backend.js';
import type { BackgroundWork } from './background.js';
import { clearMessage, keysMessage, parseBusMessage } from './bus-message.js';
import type { DistributedCacheEvents } from './events.js';
import type { Settings } from './settings.js';
import type { KeyWaiters } from './waiters.js';

/** The bus channel, under the adapter's prefix. */
export const BUS_CHANNEL = 'cache:bus';

/** An L1 entry: the deserialized value and when it turns stale / how long it took to load. */
export interface L1Entry {
  value: unknown;
  soft: number;
  hard: number;
  delta: number;
  /** Length of the serialized form (L1 size accounting). */
  size: number;
}

/** What an {@link L1Bus} is built from. */
export interface L1BusInit {
  settings: Settings;
  clock: Clock;
  backend: CacheBackend;
  events: TypedEmitter<DistributedCacheEvents>;
  waiters: KeyWaiters;
  work: BackgroundWork;
  life: Lifecycle;
  /** This cache instance's id: its own messages do not evict its own L1. */
  id: string;
}

/** An adapter written against the old contract resolves to a bare unsubscribe function. */
function asSubscription(result: Subscription | (() => Promise<void>)): Subscription {
  return typeof result === 'function' ? { unsubscribe: result } : result;
}

/**
 * The in-process L1 tier and what keeps it coherent across instances: a
 * write or delete here publishes the keys on the adapter's pub/sub channel,
 * and every other instance drops them from its L1 (and wakes its callers
 * waiting for them). Messages are only hints: an L1 entry also lives at
 * most `l1TtlMs`, and L1 is flushed when the bus reconnects (messages may
 * have been missed) and when the adapter comes back after an outage.
 */
export class L1Bus {
  /** The L1 map, `undefined` with `l1: false`. */
  readonly map: LruMap<string, L1Entry> | undefined;
  readonly #l1TtlMs: number;
  readonly #backend: CacheBackend;
  readonly #adapter: CacheAdapter;
  readonly #events: TypedEmitter<DistributedCacheEvents>;
  readonly #waiters: KeyWaiters;
  readonly #work: BackgroundWork;
  readonly #life: Lifecycle;
  readonly #id: string;
  #subscription: Subscription | undefined;
  #state: 'subscribing' | 'subscribed' | 'disconnected' | 'failed' = 'subscribing';

  constructor(init: L1BusInit) {
    const s = init.settings;
    const clock = init.clock;
    this.map = s.l1
      ? new LruMap<string, L1Entry>({
          maxEntries: s.l1MaxEntries,
          maxSize: s.l1MaxBytes,
          sizeOf: (entry, key) => entry.size + key.length,
          clock,
        })
      : undefined;
    this.#l1TtlMs = s.l1TtlMs;
    this.#backend = init.backend;
    this.#adapter = init.backend.adapter;
    this.#events = init.events;
    this.#waiters = init.waiters;
    this.#work = init.work;
    this.#life = init.life;
    this.#id = init.id;
  }

  /** Subscribes to the bus; rejects (after an `error` event) when the adapter cannot. */
  async subscribe(): Promise<void> {
    try {
      this.#subscription = asSubscription(
        await this.#adapter.subscribe(BUS_CHANNEL, {
          onMessage: (message) => this.#onMessage(message),
          onReconnect: () => {
            this.#state = 'subscribed';
            this.flush('bus-reconnect');
          },
          onDisconnect: () => {
            this.#state = 'disconnected';
          },
        }),
      );
      if (this.#state === 'subscribing') this.#state = 'subscribed';
      if (this.#life.closed) await this.#subscription.unsubscribe();
    } catch (err) {
      this.#state = 'failed';
      this.#backend.report('subscribe', undefined, err, false);
      throw backendError('subscribe', err);
    }
  }

  /**
   * The bus subscription: `subscribing` until the adapter's subscribe
   * resolves, `subscribed`, `disconnected` while the adapter reports the
   * connection carrying it lost (other instances' writes are missed until it
   * is back), `failed` when subscribing failed.
   */
  get state(): 'subscribing' | 'subscribed' | 'disconnected' | 'failed' {
    return this.#state;
  }

  /** Ends the bus subscription (errors ignored: the adapter drops it on close anyway). */
  async unsubscribe(): Promise<void> {
    try {
      await this.#subscription?.unsubscribe();
    } catch {
      // the adapter closes its subscriber connection anyway
    }
  }

  #onMessage(message: string): void {
    const parsed = parseBusMessage(message, BUS_CHANNEL);
    if (parsed instanceof CorruptDataError) {
      this.#backend.report('bus', undefined, parsed, false);
      return;
    }
    const own = parsed.i === this.#id;
    if (parsed.k !== undefined) {
      for (const key of parsed.k) {
        if (!own) this.map?.delete(key);
        this.#waiters.wake(key);
      }
    } else if (!own) {
      this.clearPrefix(parsed.p);
    }
  }

  /** Tells other instances to drop `keys` from L1 (and wakes waiters on them). */
  publishKeys(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.#publish(keysMessage(this.#id, keys), keys[0]);
  }

  /** Tells other instances to drop every key under `prefix` from L1. */
  publishClear(prefix: string): void {
    this.#publish(clearMessage(this.#id, prefix), undefined);
  }

  #publish(message: string, key: string | undefined): void {
    if (this.#backend.circuitState !== 'closed') return;
    this.#work.track(
      this.#backend
        .call('publish', () => this.#adapter.publish(BUS_CHANNEL, message))
        .catch((err) => {
          this.#backend.report('publish', key, err, false);
        }),
    );
  }

  /** Stores `entry` in L1 for the shorter of `l1TtlMs` and its hard expiry. */
  store(key: string, entry: L1Entry, now: number): void {
    const l1 = this.map;
    if (l1 === undefined) return;
    const ttl = Math.min(this.#l1TtlMs, entry.hard - now);
    if (ttl <= 0) {
      l1.delete(key);
      return;
    }
    l1.set(key, entry, ttl);
  }

  /** Empties L1, with a `flush` event. */
  flush(reason: 'bus-reconnect' | 'backend-recovered'): void {
    if (this.map === undefined) return;
    this.map.clear();
    if (this.#events.has('flush')) this.#events.emit('flush', { reason });
  }

  /** Drops every L1 key under `prefix` (all of them for `''`). */
  clearPrefix(prefix: string): void {
    const l1 = this.map;
    if (l1 === undefined) return;
    if (prefix === '') {
      l1.clear();
      return;
    }
    const doomed: string[] = [];
    for (const key of l1.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) l1.delete(key);
  }
}
