import type { CacheAdapter } from '../contracts/cache.js';
import { ConnectionError, InvalidOptionsError, isScaleoutError, TimeoutError } from '../errors.js';
import type { TypedEmitter } from '../internal/events.js';
import type { Lifecycle } from '../internal/lifecycle.js';
import type { Clock } from '../types.js';
import type { DistributedCacheEvents } from './events.js';
import type { Settings } from './settings.js';

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

/** Throws `InvalidOptionsError` unless `adapter` has every method of {@link CACHE_ADAPTER_METHODS}. */
export function checkAdapter(adapter: CacheAdapter): void {
  for (const method of CACHE_ADAPTER_METHODS) {
    if (typeof (adapter as unknown as Record<string, unknown>)[method] !== 'function') {
      throw new InvalidOptionsError(`adapter must implement CacheAdapter (missing ${method}())`, {
        option: 'adapter',
      });
    }
  }
}

/** Wraps an adapter failure so that callers see a scaleout error. */
export function backendError(operation: string, err: unknown): Error {
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

/** What a {@link CacheBackend} is built from. */
export interface CacheBackendInit {
  adapter: CacheAdapter;
  settings: Settings;
  clock: Clock;
  events: TypedEmitter<DistributedCacheEvents>;
  life: Lifecycle;
  /** Called when the circuit closes again (the adapter is back: L1 may be out of date). */
  onRecovered(): void;
}

/**
 * The adapter as the cache calls it: every call runs under the circuit
 * and the operation timeout, and the failure policy lives here too: what
 * counts as an outage, what fails open, what is a data error read as a miss.
 */
export class CacheBackend {
  readonly adapter: CacheAdapter;
  readonly #s: Settings;
  readonly #clock: Clock;
  readonly #failOpen: boolean;
  readonly #events: TypedEmitter<DistributedCacheEvents>;
  readonly #life: Lifecycle;
  readonly #onRecovered: () => void;

  // circuit
  #failures = 0;
  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #openUntil = 0;

  constructor(init: CacheBackendInit) {
    this.adapter = init.adapter;
    this.#s = init.settings;
    this.#clock = init.clock;
    this.#failOpen = init.settings.failOpen;
    this.#events = init.events;
    this.#life = init.life;
    this.#onRecovered = init.onRecovered;
  }

  #allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && this.#clock.now() >= this.#openUntil) {
      this.#setState('half-open');
      return true;
    }
    return false;
  }

  #setState(state: 'closed' | 'open' | 'half-open'): void {
    this.#state = state;
    if (this.#events.has('circuit')) this.#events.emit('circuit', { state });
  }

  #succeeded(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') {
      this.#setState('closed');
      this.#onRecovered();
    }
  }

  #failed(): void {
    this.#failures++;
    if (
      this.#state === 'half-open' ||
      (this.#state === 'closed' && this.#failures >= this.#s.circuitThreshold)
    ) {
      this.#openUntil = this.#clock.now() + this.#s.circuitOpenMs;
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
    if (this.#life.closed) return Promise.reject(this.#life.closedError());
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
          new TimeoutError(`cache ${operation} timed out after ${this.#s.operationTimeoutMs} ms`, {
            timeoutMs: this.#s.operationTimeoutMs,
          }),
        );
      }, this.#s.operationTimeoutMs);
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
  report(operation: string, key: string | undefined, error: unknown, dropped: boolean): void {
    if (this.#events.has('error')) this.#events.emit('error', { operation, key, error, dropped });
  }

  /**
   * For calls that may fail open: rethrows when `failOpen` is off or the
   * error is the caller's fault, else reports it.
   */
  failOpen(operation: string, key: string | undefined, err: unknown, dropped: boolean): void {
    if (!this.#failOpen || isCallerError(err) || isDataError(err)) throw err;
    this.report(operation, key, err, dropped);
  }

  /**
   * For reads: a foreign record under a key (a data error) is reported and
   * read as a miss, whatever `failOpen` says; the next write replaces it.
   * Returns whether `err` was one.
   */
  readAsMiss(operation: string, key: string | undefined, err: unknown): boolean {
    if (!isDataError(err)) return false;
    this.report(operation, key, err, false);
    return true;
  }
}
