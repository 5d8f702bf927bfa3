import type { CacheAdapter } from '../contracts/cache.js';
import { ConnectionError, InvalidOptionsError, isScaleoutError, TimeoutError } from '../errors.js';
import type { TypedEmitter } from '../internal/events.js';
import type { Lifecycle } from '../internal/lifecycle.js';
import { SHARED_TIMEOUTS } from '../internal/timeout-queue.js';
import { CircuitBreaker, type CircuitPermit, type CircuitState } from '../resilience/circuit-breaker.js';
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
    (err.code === 'ERR_INVALID_ARGUMENT' ||
      err.code === 'ERR_CLOSED' ||
      err.code === 'ERR_SERIALIZE' ||
      // The store answered that the value can never fit: no outage, nothing to fail open on.
      err.code === 'ERR_CACHE_VALUE_TOO_LARGE')
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
 * Adapter-call deadlines ride the process's shared deadline queue (one
 * unref'd Node timer): a call that answers in time (the common case)
 * touches no Node timer at all.
 */
const DEADLINES = SHARED_TIMEOUTS;

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
 * breaker (the shared {@link CircuitBreaker} of src/resilience) and the
 * operation timeout, and the failure policy lives here too: what counts as
 * an outage, what fails open, what is a data error read as a miss.
 *
 * The breaker is set up as the cache's circuit always was: it opens after
 * `circuitThreshold` consecutive outages (timeouts included; bad input and
 * data errors never count: the backend answered), stays open
 * `circuitOpenMs`, then lets one probe through; the probe's success closes
 * it (and flushes L1), its failure reopens it for another `circuitOpenMs`.
 * A call that times out frees its slot at the deadline, as it is reported
 * as a failure then, even though the adapter may still be working on it.
 */
export class CacheBackend {
  readonly adapter: CacheAdapter;
  readonly #breaker: CircuitBreaker;
  readonly #timeoutMs: number;
  readonly #failOpen: boolean;
  readonly #events: TypedEmitter<DistributedCacheEvents>;
  readonly #life: Lifecycle;

  constructor(init: CacheBackendInit) {
    const s = init.settings;
    this.adapter = init.adapter;
    this.#timeoutMs = s.operationTimeoutMs;
    this.#failOpen = s.failOpen;
    this.#events = init.events;
    this.#life = init.life;
    const events = init.events;
    this.#breaker = new CircuitBreaker({
      consecutiveFailures: s.circuitThreshold,
      // Only runs of consecutive failures open this circuit: no rate trigger.
      minimumRequests: Number.POSITIVE_INFINITY,
      openMs: s.circuitOpenMs,
      maxOpenMs: s.circuitOpenMs,
      halfOpenProbes: 1,
      clock: init.clock,
      onStateChange: ({ to }) => {
        if (events.has('circuit')) events.emit('circuit', { state: to });
        if (to === 'closed') init.onRecovered();
      },
    });
  }

  /** The circuit's state. */
  get circuitState(): CircuitState {
    return this.#breaker.state;
  }

  /**
   * Runs one adapter call under the circuit and the operation timeout.
   * Rejects with ConnectionError (circuit open / backend failure),
   * TimeoutError, or the adapter's own scaleout error for bad input.
   */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#life.closed) return Promise.reject(this.#life.closedError());
    let permit: CircuitPermit;
    try {
      permit = this.#breaker.acquire();
    } catch (err) {
      return Promise.reject(
        new ConnectionError(
          `cache ${operation} skipped: the circuit is open after repeated backend failures`,
          { cause: err },
        ),
      );
    }
    const breaker = this.#breaker;
    const timeoutMs = this.#timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const deadline = DEADLINES.add(timeoutMs, () => {
        if (done) return;
        done = true;
        breaker.release(permit, 'failure');
        reject(
          new TimeoutError(`cache ${operation} timed out after ${timeoutMs} ms`, {
            timeoutMs,
          }),
        );
      });
      let promise: Promise<T>;
      try {
        promise = fn();
      } catch (err) {
        promise = Promise.reject(err);
      }
      promise.then(
        (value) => {
          if (done) return;
          done = true;
          DEADLINES.cancel(deadline);
          breaker.release(permit, 'success');
          resolve(value);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          DEADLINES.cancel(deadline);
          if (isCallerError(err) || isDataError(err)) {
            // The backend answered: bad input or a foreign record is no outage.
            breaker.release(permit, 'success');
            reject(err);
            return;
          }
          breaker.release(permit, 'failure');
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
    if (!this.failsOpen(err)) throw err;
    this.report(operation, key, err, dropped);
  }

  /** Whether {@link failOpen} would report `err` rather than throw it. */
  failsOpen(err: unknown): boolean {
    return this.#failOpen && !isCallerError(err) && !isDataError(err);
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
