import { randomBytes } from 'node:crypto';
import { memoryCacheAdapter } from '../adapters/memory/memory-cache-adapter.js';
import type { CacheAdapter } from '../contracts/cache.js';
import {
  CacheValueTooLargeError,
  ClosedError,
  ConnectionError,
  CorruptDataError,
  InvalidOptionsError,
  isScaleoutError,
  TimeoutError,
} from '../errors.js';
import { TypedEmitter } from '../internal/events.js';
import { assertFaithful } from '../internal/faithful.js';
import { LruMap } from '../internal/lru.js';
import { SingleFlight } from '../internal/single-flight.js';
import { durationOption } from '../internal/validate.js';
import { jsonSerializer } from '../serializer.js';
import type { Clock, Serializer, Subscription } from '../types.js';
import { clearMessage, keysMessage, parseBusMessage } from './bus.js';
import { decode, encode } from './envelope.js';
import type { DistributedCacheEvents } from './events.js';
import { checkedClock, checkedLogger } from './option-checks.js';
import { DISTRIBUTED_CACHE_DEFAULTS, type DistributedCacheOptions, type Loader } from './options.js';

/** An L1 entry: the deserialized value and when it turns stale / how long it took to load. */
export interface L1Entry {
  value: unknown;
  soft: number;
  hard: number;
  delta: number;
  /** Length of the serialized form (L1 size accounting). */
  size: number;
}

/** Resolved per-call options of a load. */
export interface LoadOptions {
  ttlMs: number;
  graceMs: number;
  softTimeoutMs: number;
  hardTimeoutMs: number;
  beta: number;
}

interface Settings {
  defaultTtlMs: number;
  graceMs: number;
  l1: boolean;
  l1MaxEntries: number;
  l1MaxBytes: number;
  l1TtlMs: number;
  lockTtlMs: number;
  waitPollMinMs: number;
  waitPollMaxMs: number;
  softTimeoutMs: number;
  hardTimeoutMs: number;
  earlyRefreshBeta: number;
  operationTimeoutMs: number;
  failOpen: boolean;
  circuitThreshold: number;
  circuitOpenMs: number;
  maxValueBytes: number;
  maxKeyLength: number;
}

/** The methods every cache adapter must have (checked at construction). */
export const CACHE_ADAPTER_METHODS = [
  'get',
  'getMany',
  'set',
  'setMany',
  'setIfAbsent',
  'delete',
  'deleteIfEquals',
  'deleteMany',
  'increment',
  'clear',
  'publish',
  'subscribe',
  'close',
] as const;

/** The bus channel, under the adapter's prefix. */
export const BUS_CHANNEL = 'cache:bus';
const DATA = 'v:';
const LOCK = 'l:';
/** What a refresh-lock token looks like (`randomBytes(12)` in base64url): anything else there is foreign. */
const LOCK_TOKEN = /^[A-Za-z0-9_-]{16}$/;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(`${name} must be an integer >= 1`, { option: name });
  }
  return value;
}

function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidOptionsError(`${name} must be a boolean`, { option: name });
  return value;
}

/** Resolves and validates {@link DistributedCacheOptions} field by field. */
function resolveSettings(o: DistributedCacheOptions): Settings {
  const d = DISTRIBUTED_CACHE_DEFAULTS;
  const beta = o.earlyRefreshBeta ?? d.earlyRefreshBeta;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new InvalidOptionsError('earlyRefreshBeta must be a finite number >= 0', {
      option: 'earlyRefreshBeta',
    });
  }
  const s: Settings = {
    defaultTtlMs: durationOption('defaultTtlMs', o.defaultTtlMs ?? d.defaultTtlMs),
    graceMs: durationOption('graceMs', o.graceMs ?? d.graceMs, 0),
    l1: booleanOption('l1', o.l1 ?? d.l1),
    l1MaxEntries: positiveInteger('l1MaxEntries', o.l1MaxEntries ?? d.l1MaxEntries),
    l1MaxBytes: positiveInteger('l1MaxBytes', o.l1MaxBytes ?? d.l1MaxBytes),
    l1TtlMs: durationOption('l1TtlMs', o.l1TtlMs ?? d.l1TtlMs),
    lockTtlMs: durationOption('lockTtlMs', o.lockTtlMs ?? d.lockTtlMs),
    waitPollMinMs: durationOption('waitPollMinMs', o.waitPollMinMs ?? d.waitPollMinMs),
    waitPollMaxMs: durationOption('waitPollMaxMs', o.waitPollMaxMs ?? d.waitPollMaxMs),
    softTimeoutMs: durationOption('softTimeoutMs', o.softTimeoutMs ?? d.softTimeoutMs, 0),
    hardTimeoutMs: durationOption('hardTimeoutMs', o.hardTimeoutMs ?? d.hardTimeoutMs),
    earlyRefreshBeta: beta,
    operationTimeoutMs: durationOption('operationTimeoutMs', o.operationTimeoutMs ?? d.operationTimeoutMs),
    failOpen: booleanOption('failOpen', o.failOpen ?? d.failOpen),
    circuitThreshold: positiveInteger('circuitThreshold', o.circuitThreshold ?? d.circuitThreshold),
    circuitOpenMs: durationOption('circuitOpenMs', o.circuitOpenMs ?? d.circuitOpenMs),
    maxValueBytes: positiveInteger('maxValueBytes', o.maxValueBytes ?? d.maxValueBytes),
    maxKeyLength: positiveInteger('maxKeyLength', o.maxKeyLength ?? d.maxKeyLength),
  };
  if (s.waitPollMaxMs < s.waitPollMinMs) {
    throw new InvalidOptionsError('waitPollMaxMs must be >= waitPollMinMs', { option: 'waitPollMaxMs' });
  }
  return s;
}

/** Wraps an adapter failure so that callers see a scaleout error. */
function backendError(operation: string, err: unknown): Error {
  if (isScaleoutError(err)) return err;
  return new ConnectionError(`cache ${operation} failed: the cache backend did not answer`, { cause: err });
}

/** A failure that says nothing about the backend's health (bad input, closed). */
function isCallerError(err: unknown): boolean {
  return (
    isScaleoutError(err) &&
    (err.code === 'ERR_INVALID_ARGUMENT' || err.code === 'ERR_CLOSED' || err.code === 'ERR_SERIALIZE')
  );
}

/**
 * A record in the store that scaleout did not write (a key of another
 * Redis type, a counter out of range). The backend answered: it is not an
 * outage, does not count toward the circuit, and other keys keep working.
 */
export function isDataError(err: unknown): boolean {
  return isScaleoutError(err, 'ERR_CORRUPT_DATA');
}

/**
 * The shared state and policy behind a {@link DistributedCache} and its
 * namespaces. Works on full keys (namespace included, already validated).
 */
export class CacheCore {
  readonly s: Settings;
  readonly adapter: CacheAdapter;
  readonly serializer: Serializer;
  readonly clock: Clock;
  readonly events: TypedEmitter<DistributedCacheEvents>;
  readonly l1: LruMap<string, L1Entry> | undefined;
  readonly id = randomBytes(8).toString('hex');
  readonly #flights = new SingleFlight<string, unknown>();
  readonly #refreshing = new Set<string>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #pending = new Set<Promise<unknown>>();
  #subscription: Subscription | undefined;
  readonly ready: Promise<void>;
  closed = false;

  // circuit
  #failures = 0;
  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #openUntil = 0;

  constructor(options: DistributedCacheOptions) {
    this.s = resolveSettings(options);
    this.adapter = options.adapter ?? memoryCacheAdapter();
    this.serializer = options.serializer ?? jsonSerializer;
    for (const method of CACHE_ADAPTER_METHODS) {
      if (typeof (this.adapter as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new InvalidOptionsError(`adapter must implement CacheAdapter (missing ${method}())`, {
          option: 'adapter',
        });
      }
    }
    if (
      typeof this.serializer?.serialize !== 'function' ||
      typeof this.serializer.deserialize !== 'function'
    ) {
      throw new InvalidOptionsError('serializer must have serialize() and deserialize()', {
        option: 'serializer',
      });
    }
    this.clock = checkedClock(options.clock);
    this.events = new TypedEmitter(checkedLogger(options.logger));
    const now = () => this.clock.now();
    this.l1 = this.s.l1
      ? new LruMap<string, L1Entry>({
          maxEntries: this.s.l1MaxEntries,
          maxSize: this.s.l1MaxBytes,
          sizeOf: (entry, key) => entry.size + key.length,
          now,
        })
      : undefined;
    this.ready = this.#subscribe();
    this.ready.catch(() => {});
  }

  async #subscribe(): Promise<void> {
    try {
      this.#subscription = await this.adapter.subscribe(BUS_CHANNEL, {
        onMessage: (message) => this.#onBusMessage(message),
        onReconnect: () => this.flushL1('bus-reconnect'),
      });
      if (this.closed) await this.#subscription.unsubscribe();
    } catch (err) {
      this.reportError('subscribe', undefined, err, false);
      throw backendError('subscribe', err);
    }
  }

  // ---- bus ----------------------------------------------------------------

  #onBusMessage(message: string): void {
    const parsed = parseBusMessage(message, BUS_CHANNEL);
    if (parsed instanceof CorruptDataError) {
      this.reportError('bus', undefined, parsed, false);
      return;
    }
    const own = parsed.i === this.id;
    if (parsed.k !== undefined) {
      for (const key of parsed.k) {
        if (!own) this.l1?.delete(key);
        const waiters = this.#waiters.get(key);
        if (waiters !== undefined) for (const wake of waiters) wake();
      }
    } else if (!own) {
      this.#l1Clear(parsed.p);
    }
  }

  /** Tells other instances to drop `keys` from L1 (and wakes waiters on them). */
  publishKeys(keys: string[]): void {
    if (keys.length === 0) return;
    this.#publish(keysMessage(this.id, keys), keys[0]);
  }

  publishClear(prefix: string): void {
    this.#publish(clearMessage(this.id, prefix), undefined);
  }

  #publish(message: string, key: string | undefined): void {
    if (this.#state !== 'closed') return;
    this.#track(
      this.call('publish', () => this.adapter.publish(BUS_CHANNEL, message)).catch((err) => {
        this.reportError('publish', key, err, false);
      }),
    );
  }

  flushL1(reason: 'bus-reconnect' | 'backend-recovered'): void {
    if (this.l1 === undefined) return;
    this.l1.clear();
    if (this.events.has('flush')) this.events.emit('flush', { reason });
  }

  #l1Clear(prefix: string): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    if (prefix === '') {
      l1.clear();
      return;
    }
    const doomed: string[] = [];
    for (const key of l1.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) l1.delete(key);
  }

  l1ClearPrefix(prefix: string): void {
    this.#l1Clear(prefix);
  }

  // ---- circuit and adapter calls -------------------------------------------

  #allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && this.clock.now() >= this.#openUntil) {
      this.#setState('half-open');
      return true;
    }
    return false;
  }

  #setState(state: 'closed' | 'open' | 'half-open'): void {
    this.#state = state;
    if (this.events.has('circuit')) this.events.emit('circuit', { state });
  }

  #succeeded(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') {
      this.#setState('closed');
      this.flushL1('backend-recovered');
    }
  }

  #failed(): void {
    this.#failures++;
    if (
      this.#state === 'half-open' ||
      (this.#state === 'closed' && this.#failures >= this.s.circuitThreshold)
    ) {
      this.#openUntil = this.clock.now() + this.s.circuitOpenMs;
      this.#setState('open');
    }
  }

  /** The circuit's state. */
  get circuitState(): 'closed' | 'open' | 'half-open' {
    return this.#state;
  }

  /**
   * Runs one adapter call under the circuit and the operation timeout.
   * Rejects with ConnectionError (circuit open / backend failure),
   * TimeoutError, or the adapter's own scaleout error for bad input.
   */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError('the cache is closed'));
    if (!this.#allow()) {
      return Promise.reject(
        new ConnectionError(
          `cache ${operation} skipped: the circuit is open after repeated backend failures`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        this.#failed();
        reject(
          new TimeoutError(`cache ${operation} timed out after ${this.s.operationTimeoutMs} ms`, {
            timeoutMs: this.s.operationTimeoutMs,
          }),
        );
      }, this.s.operationTimeoutMs);
      timer.unref();
      let promise: Promise<T>;
      try {
        promise = fn();
      } catch (err) {
        promise = Promise.reject(err);
      }
      promise.then(
        (value) => {
          clearTimeout(timer);
          if (done) return;
          done = true;
          this.#succeeded();
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (done) return;
          done = true;
          if (isCallerError(err) || isDataError(err)) {
            // The backend answered: bad input or a foreign record is no outage.
            this.#succeeded();
            reject(err);
            return;
          }
          this.#failed();
          reject(backendError(operation, err));
        },
      );
    });
  }

  /** Reports a failure that does not reach the caller. */
  reportError(operation: string, key: string | undefined, error: unknown, dropped: boolean): void {
    if (this.events.has('error')) this.events.emit('error', { operation, key, error, dropped });
  }

  /**
   * For calls that may fail open: rethrows when `failOpen` is off or the
   * error is the caller's fault, else reports it.
   */
  failOpen(operation: string, key: string | undefined, err: unknown, dropped: boolean): void {
    if (!this.s.failOpen || isCallerError(err) || isDataError(err)) throw err;
    this.reportError(operation, key, err, dropped);
  }

  /**
   * For reads: a foreign record under a key (a data error) is reported and
   * read as a miss, whatever `failOpen` says; the next write replaces it.
   * Returns whether `err` was one.
   */
  readAsMiss(operation: string, key: string | undefined, err: unknown): boolean {
    if (!isDataError(err)) return false;
    this.reportError(operation, key, err, false);
    return true;
  }

  #track(promise: Promise<unknown>): void {
    this.#pending.add(promise);
    promise.finally(() => this.#pending.delete(promise)).catch(() => {});
  }

  // ---- values ---------------------------------------------------------------

  dataKey(key: string): string {
    return DATA + key;
  }

  dataPrefix(prefix: string): string {
    return DATA + prefix;
  }

  /** Serializes and checks the size cap; throws the typed error for bad values. */
  serialize(value: unknown): string {
    const text = this.serializer.serialize(value);
    const max = this.s.maxValueBytes;
    if (text.length * 3 > max) {
      const bytes = Buffer.byteLength(text);
      if (bytes > max) {
        throw new CacheValueTooLargeError(
          `value is ${bytes} bytes serialized, more than maxValueBytes (${max})`,
          { bytes, maxBytes: max },
        );
      }
    }
    return text;
  }

  /** Decodes stored text into an L1 entry; undefined (and an error event) when unreadable. */
  read(key: string, text: string, now: number, graceMs: number): L1Entry | undefined {
    const decoded = decode(text);
    const max = this.s.maxValueBytes;
    if (
      decoded.payload.length > max ||
      (decoded.payload.length * 3 > max && Buffer.byteLength(decoded.payload) > max)
    ) {
      // Read back as strictly as written: scaleout never stores more than maxValueBytes.
      this.reportError(
        'deserialize',
        key,
        new CorruptDataError(`the stored value is larger than maxValueBytes (${max}); treated as a miss`, {
          key,
        }),
        false,
      );
      return undefined;
    }
    let value: unknown;
    try {
      value = this.serializer.deserialize(decoded.payload);
    } catch (err) {
      this.reportError('deserialize', key, err, false);
      return undefined;
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
      // A counter another program pushed past 2^53 would read rounded: refuse it as written.
      if (String(value) !== decoded.payload) {
        this.reportError(
          'deserialize',
          key,
          new CorruptDataError(
            'the stored integer does not read back exactly (past 2^53); treated as a miss',
            {
              key,
            },
          ),
          false,
        );
        return undefined;
      }
    }
    const entry: L1Entry = {
      value,
      soft: decoded.soft,
      hard: decoded.soft + graceMs,
      delta: decoded.delta,
      size: decoded.payload.length,
    };
    this.storeL1(key, entry, now);
    return entry;
  }

  storeL1(key: string, entry: L1Entry, now: number): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    const ttl = Math.min(this.s.l1TtlMs, entry.hard - now);
    if (ttl <= 0) {
      l1.delete(key);
      return;
    }
    l1.set(key, entry, ttl);
  }

  /**
   * Builds the stored text and the L1 entry for a value. L1 holds the
   * serializer's round trip of the value, never the caller's object: what
   * every other instance reads from the adapter, untouched by later
   * mutations of the caller's object. A value whose round trip is other
   * data (a Map, a Date, NaN under JSON) is refused with
   * `SerializationError` (see internal/faithful.ts).
   */
  prepare(value: unknown, ttlMs: number, graceMs: number, delta: number, now: number) {
    const payload = this.serialize(value);
    let copy: unknown;
    if (typeof value === 'string' && this.serializer === jsonSerializer) {
      copy = value; // a JSON string round-trips to itself
    } else {
      copy = this.serializer.deserialize(payload);
      assertFaithful(value, copy, 'cache');
    }
    const soft = now + ttlMs;
    const entry: L1Entry = {
      value: copy,
      soft,
      hard: soft + graceMs,
      delta: Math.round(delta),
      size: payload.length,
    };
    return { payload, text: encode(payload, soft, entry.delta), entry, storeTtlMs: ttlMs + graceMs };
  }

  /** Stores a value in L1 and (unless the adapter is down) the adapter, then publishes. */
  async write(key: string, value: unknown, ttlMs: number, graceMs: number, delta: number): Promise<L1Entry> {
    const now = this.clock.now();
    const { text, entry, storeTtlMs } = this.prepare(value, ttlMs, graceMs, delta, now);
    this.storeL1(key, entry, now);
    try {
      await this.call('set', () => this.adapter.set(this.dataKey(key), text, { ttlMs: storeTtlMs }));
      this.publishKeys([key]);
    } catch (err) {
      // Not stored: unless failing open, L1 must not show the write either.
      if (!this.s.failOpen) this.l1?.delete(key);
      this.failOpen('set', key, err, true);
    }
    return entry;
  }

  // ---- getOrSet -------------------------------------------------------------

  shouldRefreshEarly(entry: L1Entry, now: number, beta: number): boolean {
    if (beta <= 0 || entry.delta <= 0 || entry.soft === Number.POSITIVE_INFINITY) return false;
    return now - entry.delta * beta * Math.log(Math.random()) >= entry.soft;
  }

  getOrSet<T>(key: string, loader: Loader<T>, o: LoadOptions): Promise<T> {
    const l1 = this.l1;
    if (l1 !== undefined) {
      const entry = l1.get(key);
      if (entry !== undefined) {
        const now = this.clock.now();
        if (entry.soft > now) {
          if (this.events.has('hit')) this.events.emit('hit', { key, tier: 'l1' });
          if (o.beta > 0 && this.shouldRefreshEarly(entry, now, o.beta)) {
            this.refreshInBackground(key, loader, o, true);
          }
          return Promise.resolve(entry.value as T);
        }
      }
    }
    return this.#flights.do(key, () => this.#resolve(key, loader, o)) as Promise<T>;
  }

  async #resolve<T>(key: string, loader: Loader<T>, o: LoadOptions): Promise<T> {
    let stale: L1Entry | undefined;
    const local = this.l1?.peek(key)?.value;
    const now0 = this.clock.now();
    if (local !== undefined && local.hard > now0) stale = local;
    let text: string | undefined;
    try {
      text = await this.call('get', () => this.adapter.get(this.dataKey(key)));
    } catch (err) {
      if (this.readAsMiss('get', key, err)) return this.#loadWithLock(key, loader, o);
      this.failOpen('get', key, err, false);
      // Fail-open: the adapter is down; answer from L1 or the loader, in this process only.
      if (stale !== undefined) {
        this.#emitStale(key, 'backend-down');
        if (!this.#refreshing.has(key)) this.refreshInBackground(key, loader, o, false, true);
        return stale.value as T;
      }
      return this.#runLoader(key, loader, o, undefined, false, false);
    }
    const now = this.clock.now();
    if (text !== undefined) {
      const entry = this.read(key, text, now, o.graceMs);
      if (entry !== undefined) {
        if (entry.soft > now) {
          if (this.events.has('hit')) this.events.emit('hit', { key, tier: 'l2' });
          if (o.beta > 0 && this.shouldRefreshEarly(entry, now, o.beta)) {
            this.refreshInBackground(key, loader, o, true);
          }
          return entry.value as T;
        }
        stale = entry;
      }
    }
    if (this.events.has('miss')) this.events.emit('miss', { key });
    if (stale !== undefined && stale.hard > now) {
      if (o.softTimeoutMs > 0 && !this.#refreshing.has(key)) {
        // This caller refreshes in the foreground, waiting up to the soft timeout.
        const lock = await this.#tryLock(key);
        if (lock !== undefined) {
          this.#refreshing.add(key);
          return this.#runLoader(key, loader, o, stale, true, false, () => {
            lock.release();
            this.#refreshing.delete(key);
          });
        }
      }
      this.#emitStale(key, 'grace');
      this.refreshInBackground(key, loader, o, false);
      return stale.value as T;
    }
    return this.#loadWithLock(key, loader, o);
  }

  /** Takes the refresh lock for `key`; undefined when another holds it or the adapter fails. */
  async #tryLock(key: string): Promise<{ release(): void } | undefined> {
    const token = randomBytes(12).toString('base64url');
    const lockKey = LOCK + key;
    try {
      const acquired = await this.call('lock', () =>
        this.adapter.setIfAbsent(lockKey, token, { ttlMs: this.s.lockTtlMs }),
      );
      if (!acquired) return undefined;
    } catch (err) {
      this.reportError('lock', key, err, false);
      return undefined;
    }
    return {
      release: () => {
        this.#track(
          this.call('unlock', () => this.adapter.deleteIfEquals(lockKey, token)).catch((err) =>
            this.reportError('unlock', key, err, false),
          ),
        );
      },
    };
  }

  #emitStale(key: string, reason: DistributedCacheEvents['stale']['reason']): void {
    if (this.events.has('stale')) this.events.emit('stale', { key, reason });
  }

  /** Cold miss: one loader per cluster, others wait for its value. */
  async #loadWithLock<T>(key: string, loader: Loader<T>, o: LoadOptions): Promise<T> {
    const token = randomBytes(12).toString('base64url');
    const lockKey = LOCK + key;
    const deadline = this.clock.now() + this.s.lockTtlMs + o.hardTimeoutMs;
    let delay = this.s.waitPollMinMs;
    let refusals = 0;
    for (;;) {
      let acquired: boolean;
      try {
        acquired = await this.call('lock', () =>
          this.adapter.setIfAbsent(lockKey, token, { ttlMs: this.s.lockTtlMs }),
        );
      } catch (err) {
        if (this.readAsMiss('lock', key, err)) return this.#runLoader(key, loader, o, undefined, true, false);
        this.failOpen('lock', key, err, false);
        return this.#runLoader(key, loader, o, undefined, false, false);
      }
      if (acquired) {
        const release = () => {
          this.#track(
            this.call('unlock', () => this.adapter.deleteIfEquals(lockKey, token)).catch((err) =>
              this.reportError('unlock', key, err, false),
            ),
          );
        };
        // The value may have landed between our read and the lock.
        let text: string | undefined;
        try {
          text = await this.call('get', () => this.adapter.get(this.dataKey(key)));
        } catch {
          text = undefined;
        }
        if (text !== undefined) {
          const now = this.clock.now();
          const entry = this.read(key, text, now, o.graceMs);
          if (entry !== undefined && entry.soft > now) {
            release();
            return entry.value as T;
          }
        }
        return this.#runLoader(key, loader, o, undefined, true, false, release);
      }
      refusals++;
      if (refusals === 2) {
        // Refused again after a wait that no publish ended: check that the
        // lock is one an instance wrote. A foreign record there would hold
        // every cold load of this key until the wait deadline: load without
        // the lock instead. (A loader that finishes within the first wait
        // never costs this read.)
        if (await this.#foreignLock(lockKey, key)) {
          return this.#runLoader(key, loader, o, undefined, true, false);
        }
      }
      // Another instance holds the lock: wait for its publish, or poll.
      // Register first, then re-read, so that a publish in between is not missed.
      const woken = this.#waitFor(key, delay);
      let found: L1Entry | undefined;
      try {
        found = await this.#readFresh(key, o);
      } catch (err) {
        woken.cancel();
        this.failOpen('get', key, err, false);
        return this.#runLoader(key, loader, o, undefined, false, false);
      }
      if (found !== undefined) {
        woken.cancel();
        return found.value as T;
      }
      await woken.promise;
      if (this.closed) throw new ClosedError('the cache is closed');
      // Woken (or polled): read before contending for the lock again.
      try {
        found = await this.#readFresh(key, o);
      } catch (err) {
        this.failOpen('get', key, err, false);
        return this.#runLoader(key, loader, o, undefined, false, false);
      }
      if (found !== undefined) return found.value as T;
      if (this.clock.now() > deadline) {
        // The holder neither finished nor let its lease expire in time: load here.
        return this.#runLoader(key, loader, o, undefined, true, false);
      }
      delay = Math.min(delay * 2, this.s.waitPollMaxMs);
    }
  }

  /**
   * Whether the refresh lock of `key` holds a record no instance wrote (a
   * key of another type, text that is not a lock token): reported as a
   * data error. A failed check answers false (wait as usual).
   */
  async #foreignLock(lockKey: string, key: string): Promise<boolean> {
    let text: string | undefined;
    try {
      text = await this.call('lock', () => this.adapter.get(lockKey));
    } catch (err) {
      return this.readAsMiss('lock', key, err);
    }
    if (text === undefined || LOCK_TOKEN.test(text)) return false;
    this.reportError(
      'lock',
      key,
      new CorruptDataError(
        'the refresh lock of this key holds a record scaleout does not write; loading without it',
        {
          key: lockKey,
        },
      ),
      false,
    );
    return true;
  }

  /** Reads a fresh value from the adapter (into L1); undefined when absent, stale or foreign. Throws on adapter failure. */
  async #readFresh(key: string, o: LoadOptions): Promise<L1Entry | undefined> {
    let text: string | undefined;
    try {
      text = await this.call('get', () => this.adapter.get(this.dataKey(key)));
    } catch (err) {
      if (this.readAsMiss('get', key, err)) return undefined;
      throw err;
    }
    if (text === undefined) return undefined;
    const now = this.clock.now();
    const entry = this.read(key, text, now, o.graceMs);
    if (entry === undefined || entry.soft <= now) return undefined;
    if (this.events.has('hit')) this.events.emit('hit', { key, tier: 'l2' });
    return entry;
  }

  #waitFor(key: string, ms: number): { promise: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let set = this.#waiters.get(key);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(key, set);
    }
    const waiters = set;
    const timer = setTimeout(() => finish(), ms);
    timer.unref();
    const finish = () => {
      clearTimeout(timer);
      waiters.delete(finish);
      if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
      wake();
    };
    waiters.add(finish);
    return { promise, cancel: finish };
  }

  /** Wakes every waiter (used by close). */
  #wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }

  /**
   * Runs the loader with the soft and hard timeouts, stores its value and
   * publishes. `stale` is served on a soft timeout or a loader failure.
   */
  #runLoader<T>(
    key: string,
    loader: Loader<T>,
    o: LoadOptions,
    stale: L1Entry | undefined,
    writeRemote: boolean,
    background: boolean,
    onSettled?: () => void,
    early = false,
  ): Promise<T> {
    const controller = new AbortController();
    const started = this.clock.monotonic();
    let loaded: Promise<T>;
    try {
      loaded = Promise.resolve(loader({ signal: controller.signal, key }));
    } catch (err) {
      loaded = Promise.reject(err);
    }
    const hard = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new TimeoutError(`cache loader timed out after ${o.hardTimeoutMs} ms`, {
          timeoutMs: o.hardTimeoutMs,
        });
        controller.abort(error);
        reject(error);
      }, o.hardTimeoutMs);
      timer.unref();
      loaded.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
    const stored = hard.then(async (value) => {
      const delta = this.clock.monotonic() - started;
      if (writeRemote) await this.write(key, value, o.ttlMs, o.graceMs, delta);
      else {
        const now = this.clock.now();
        const { entry } = this.prepare(value, o.ttlMs, o.graceMs, delta, now);
        this.storeL1(key, entry, now);
      }
      if (this.events.has('refresh')) {
        this.events.emit('refresh', { key, durationMs: delta, background, early });
      }
      return value;
    });
    const settled = stored.finally(() => onSettled?.());
    settled.catch(() => {});
    this.#track(settled);
    if (stale === undefined) return settled;
    // With a stale value: a loader failure or a soft timeout serves it.
    const fallback = settled.catch((err: unknown) => {
      this.reportError('loader', key, err, false);
      this.#emitStale(key, 'loader-error');
      return stale.value as T;
    });
    if (o.softTimeoutMs <= 0) return fallback;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        this.#emitStale(key, 'soft-timeout');
        resolve(stale.value as T);
      }, o.softTimeoutMs);
      timer.unref();
      fallback.then((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  /**
   * Refreshes `key` in the background: at most one refresh per key per
   * process, and (through the refresh lock) per cluster. Never throws.
   */
  refreshInBackground<T>(
    key: string,
    loader: Loader<T>,
    o: LoadOptions,
    early: boolean,
    localOnly = false,
  ): void {
    if (this.#refreshing.has(key) || this.closed) return;
    this.#refreshing.add(key);
    const run = async () => {
      if (localOnly) {
        await this.#runLoader(key, loader, o, undefined, false, true, undefined, early);
        return;
      }
      const lock = await this.#tryLock(key);
      if (lock === undefined) return;
      await this.#runLoader(key, loader, o, undefined, true, true, () => lock.release(), early);
    };
    const done = run()
      .catch((err) => this.reportError('refresh', key, err, false))
      .finally(() => this.#refreshing.delete(key));
    this.#track(done);
  }

  /** Waits for background work (refreshes, publishes, lock releases) to settle. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#wakeAll();
    await Promise.race([this.settle(), new Promise((r) => setTimeout(r, 2000).unref())]);
    try {
      await this.#subscription?.unsubscribe();
    } catch {
      // the adapter closes its subscriber connection anyway
    }
    this.l1?.clear();
    await this.adapter.close();
  }
}
