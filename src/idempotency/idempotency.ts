import { randomUUID } from 'node:crypto';
import { memoryIdempotencyStore } from '../adapters/memory/memory-idempotency-store.js';
import type { IdempotencyStore } from '../contracts/idempotency.js';
import {
  CorruptDataError,
  IdempotencyConflictError,
  IdempotencyMismatchError,
  InvalidArgumentError,
  InvalidOptionsError,
  SerializationError,
} from '../errors.js';
import { waitOrAbort } from '../internal/abort.js';
import { TypedEmitter } from '../internal/events.js';
import { assertWritesFaithfully } from '../internal/faithful.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { sleep } from '../internal/timers.js';
import { clockOption, durationArgument, durationOption, keyArgument } from '../internal/validate.js';
import { assertSafePayload, jsonSerializer } from '../serializer.js';
import type { Clock, Logger, Serializer } from '../types.js';
import { systemClock } from '../types.js';
import { FINGERPRINT, fingerprintValue } from './fingerprint.js';
import { IdempotencyClaim, type IdempotencyInternals } from './idempotency-claim.js';
import { checkListener, type IdempotencyEvents, type IdempotencySource } from './idempotency-events.js';
import {
  checkIdempotencyOptions,
  checkRunOptions,
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyOptions,
  type IdempotencyRunOptions,
  MAX_STORED_BYTES_LIMIT,
} from './idempotency-options.js';
import { decodeStoredResult, type StoredResult } from './stored-result.js';

/** A result larger than `maxStoredBytes`: completed, nothing kept. */
const NOT_KEPT_TOO_LARGE: StoredResult = Object.freeze({ kind: 'none', reason: 'too-large' });

/** Why a result was not kept, as a repeat's error says it. */
const NOT_KEPT_WHY: Record<'too-large' | 'unserializable' | 'encoded', string> = {
  'too-large': 'larger than maxStoredBytes',
  unserializable:
    "the serializer refused it, or it would read back as other data: the first call's stored event says where",
  encoded: 'sent encoded',
};

/** Longest key `run()` accepts, in characters. */
const MAX_RUN_KEY_LENGTH = 512;

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

/**
 * @internal What {@link Idempotency.begin} is asked: the store key, the
 * request's fingerprint and where the key is used.
 */
export interface BeginRequest {
  key: string;
  fingerprint: string;
  source: IdempotencySource;
  /** Overrides the instance's waitMs (the queue waits out the holder's lease). */
  waitMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** @internal The outcome of {@link Idempotency.begin}: run (holding the claim), or replay. */
export type BeginOutcome =
  | { readonly kind: 'claimed'; readonly claim: IdempotencyClaim }
  | { readonly kind: 'replay'; readonly result: StoredResult };

/**
 * One effect per idempotency key: the first execution of a key runs and its
 * result is kept for `ttlMs`; a repeat gets the kept result without running;
 * a concurrent repeat waits up to `waitMs` for it, then is refused
 * (`IdempotencyConflictError`); a repeat with another fingerprint is refused
 * (`IdempotencyMismatchError`); an execution that throws keeps nothing, so a
 * retry runs. Records live in an {@link IdempotencyStore}: memory by
 * default, Redis (`redisIdempotencyStore` from `scaleout/redis`) to share
 * them between processes.
 *
 * The same instance serves {@link Idempotency.run} (any code), the HTTP
 * middleware (`idempotencyNode`, and `idempotency` from `scaleout/express`,
 * `scaleout/fastify`, `scaleout/koa`) and queue consumers (`dedupe`).
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: redis }) });
 * const refund = await keys.run(`refund:${orderId}`, () => provider.refund(orderId), {
 *   fingerprint: { orderId, amountCents },
 * });
 * ```
 */
export class Idempotency {
  readonly #store: IdempotencyStore;
  readonly #ownsStore: boolean;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #waitMs: number;
  readonly #maxStoredBytes: number;
  readonly #serializer: Serializer;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #events: TypedEmitter<IdempotencyEvents>;
  readonly #internals: IdempotencyInternals;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #life = new Lifecycle('idempotency');

  constructor(options: IdempotencyOptions = {}) {
    checkIdempotencyOptions(options);
    const d = IDEMPOTENCY_DEFAULTS;
    if (
      options.adapter !== undefined &&
      !hasMethods(options.adapter, ['claim', 'complete', 'release', 'close'])
    ) {
      throw new InvalidOptionsError(
        'adapter must be an IdempotencyStore (memoryIdempotencyStore(), or redisIdempotencyStore() from scaleout/redis)',
        { option: 'adapter' },
      );
    }
    if (options.serializer !== undefined && !hasMethods(options.serializer, ['serialize', 'deserialize'])) {
      throw new InvalidOptionsError('serializer must have serialize() and deserialize()', {
        option: 'serializer',
      });
    }
    clockOption(options.clock);
    if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
      throw new InvalidOptionsError('logger must be an object with warn()/error() methods', {
        option: 'logger',
      });
    }
    this.#ttlMs = durationOption('ttlMs', options.ttlMs ?? d.ttlMs);
    this.#leaseMs = durationOption('leaseMs', options.leaseMs ?? d.leaseMs);
    this.#waitMs = durationOption('waitMs', options.waitMs ?? d.waitMs, 0);
    const maxStoredBytes = options.maxStoredBytes ?? d.maxStoredBytes;
    if (
      !Number.isSafeInteger(maxStoredBytes) ||
      maxStoredBytes < 0 ||
      maxStoredBytes > MAX_STORED_BYTES_LIMIT
    ) {
      throw new InvalidOptionsError(`maxStoredBytes must be an integer in [0, ${MAX_STORED_BYTES_LIMIT}]`, {
        option: 'maxStoredBytes',
      });
    }
    this.#maxStoredBytes = maxStoredBytes;
    this.#serializer = options.serializer ?? jsonSerializer;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#events = new TypedEmitter(options.logger);
    this.#ownsStore = options.adapter === undefined;
    this.#store = options.adapter ?? memoryIdempotencyStore({ clock: this.#clock });
    const events = this.#events;
    this.#internals = {
      store: this.#store,
      clock: this.#clock,
      leaseMs: this.#leaseMs,
      logger: this.#logger,
      emit: (event, payload) => {
        if (events.has(event)) events.emit(event, payload);
      },
    };
  }

  /** The store holding the records (the `adapter` option, or the memory store this object made). */
  get adapter(): IdempotencyStore {
    return this.#store;
  }

  /** How long completed results are kept, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** How long a claim holds its key, in ms. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** How long a concurrent duplicate waits, in ms. */
  get waitMs(): number {
    return this.#waitMs;
  }

  /** Largest result kept, in bytes. */
  get maxStoredBytes(): number {
    return this.#maxStoredBytes;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#life.closed;
  }

  /**
   * Subscribes to an event (`replayed`, `conflict`, `stored`, `released`,
   * `lost`, `error`); returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const off = keys.on('conflict', (e) => metrics.idempotencyConflicts.inc({ reason: e.reason }));
   * off();
   * ```
   */
  on<K extends keyof IdempotencyEvents>(
    event: K,
    listener: (payload: IdempotencyEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#events.on(event, listener);
  }

  /**
   * Removes a listener added with {@link Idempotency.on}.
   *
   * @example
   * ```ts
   * const onLost = (e: IdempotencyKeyEvent) => alert(e.key);
   * keys.on('lost', onLost);
   * keys.off('lost', onLost);
   * ```
   */
  off<K extends keyof IdempotencyEvents>(event: K, listener: (payload: IdempotencyEvents[K]) => void): void {
    checkListener(event, listener);
    this.#events.off(event, listener);
  }

  /**
   * Runs `fn` once per `key`: the first call runs it and keeps its result
   * (serialized) for `ttlMs`; a later call with the key resolves to the kept
   * result without running `fn`; a concurrent call waits up to `waitMs` for
   * the first, then throws `IdempotencyConflictError`; a call whose
   * `fingerprint` differs from the first's throws `IdempotencyMismatchError`.
   * When `fn` throws, nothing is kept and the error is rethrown: a retry
   * runs `fn` again.
   *
   * Keys are namespaced (`fn:<key>`) apart from HTTP and queue keys.
   *
   * @example
   * ```ts
   * const receipt = await keys.run(`charge:${orderId}`, () => provider.charge(orderId, cents), {
   *   fingerprint: { orderId, cents },
   * });
   * ```
   */
  async run<T>(key: string, fn: () => T | Promise<T>, options?: IdempotencyRunOptions): Promise<Awaited<T>> {
    this.#checkOpen();
    keyArgument('key', key, MAX_RUN_KEY_LENGTH);
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn must be a function', { argument: 'fn' });
    checkRunOptions(options);
    const ttlMs = options?.ttlMs === undefined ? this.#ttlMs : durationArgument('ttlMs', options.ttlMs);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
    }
    const fingerprint = fingerprintValue(options?.fingerprint);
    const begun = await this.begin({ key: `fn:${key}`, fingerprint, source: 'run', signal });
    if (begun.kind === 'replay') return this.#replayValue(`fn:${key}`, begun.result) as Awaited<T>;
    const { claim } = begun;
    let value: Awaited<T>;
    try {
      value = await fn();
    } catch (err) {
      await claim.release('failed');
      throw err;
    }
    const kept = this.#storable(claim.key, value);
    await claim.complete(kept.result, ttlMs, kept.error);
    return value;
  }

  /**
   * What to keep of `value`: its text, or nothing (`none`) when it is too
   * large or would not read back as it is (the serializer refuses it, or its
   * round trip is other data: a Date, a Map, NaN, a class instance...), with
   * what refused it. Never a changed value: a repeat would get other data
   * than the first call, so it is refused instead.
   */
  #storable(key: string, value: unknown): { result: StoredResult; error?: unknown } {
    if (value === undefined) return { result: { kind: 'value', text: undefined } };
    const serializer = this.#serializer;
    let text: string;
    try {
      const written: unknown = serializer.serialize(value);
      if (typeof written !== 'string') throw new SerializationError('the serializer did not return text');
      if (Buffer.byteLength(written) > this.#maxStoredBytes) return { result: NOT_KEPT_TOO_LARGE };
      assertWritesFaithfully(value, serializer, 'idempotency', () => serializer.deserialize(written));
      text = written;
    } catch (err) {
      this.#logger?.warn?.(
        'idempotency: result not kept (not serializable as it is); repeats of its key will be refused',
        {
          key,
          error: err instanceof Error ? err.message : String(err),
        },
      );
      return { result: { kind: 'none', reason: 'unserializable' }, error: err };
    }
    return { result: { kind: 'value', text } };
  }

  #replayValue(key: string, result: StoredResult): unknown {
    if (result.kind === 'none') {
      this.#internals.emit('conflict', { key, source: 'run', reason: 'not-kept' });
      throw new IdempotencyConflictError(
        `key "${key}" already ran; its result was not kept (${NOT_KEPT_WHY[result.reason]}), so it is not run again`,
        { key, reason: 'not-kept' },
      );
    }
    if (result.kind !== 'value') {
      throw new CorruptDataError(`idempotency record "${key}" holds an HTTP response, not a result`, { key });
    }
    this.#internals.emit('replayed', { key, source: 'run' });
    if (result.text === undefined) return undefined;
    const value = this.#serializer.deserialize(result.text);
    // An escaped pollution key ("\u005f_proto__") parses to an own
    // "__proto__" that a literal pre-check misses: scan text with escapes.
    if (this.#serializer === jsonSerializer && result.text.includes('\\u')) assertSafePayload(value);
    return value;
  }

  /**
   * @internal Claims `key` for an execution, or finds what holds it:
   * waits (polling with backoff) while another execution holds it, up to
   * `waitMs`. Throws IdempotencyMismatchError when the key was claimed with
   * another fingerprint, IdempotencyConflictError after the wait, and the
   * store's errors (CorruptDataError for a foreign record).
   */
  async begin(request: BeginRequest): Promise<BeginOutcome> {
    this.#checkOpen();
    const { key, fingerprint, source, signal } = request;
    const waitMs = request.waitMs ?? this.#waitMs;
    const token = randomUUID();
    const started = this.#clock.monotonic();
    let pause = 10;
    for (;;) {
      const result = await this.#store.claim({ key, owner: token, fingerprint, leaseMs: this.#leaseMs });
      if (result.status === 'claimed') {
        return {
          kind: 'claimed',
          claim: new IdempotencyClaim(this, this.#internals, key, fingerprint, source, token),
        };
      }
      if (!FINGERPRINT.test(result.fingerprint)) {
        throw new CorruptDataError(`idempotency record "${key}" holds a fingerprint scaleout did not write`, {
          key,
        });
      }
      if (result.fingerprint !== fingerprint) {
        this.#internals.emit('conflict', { key, source, reason: 'mismatch' });
        throw new IdempotencyMismatchError(
          `key "${key}" was used with another request (its fingerprint differs); use a new key`,
          { key },
        );
      }
      if (result.status === 'completed') {
        return { kind: 'replay', result: decodeStoredResult(result.response, key, this.#maxStoredBytes) };
      }
      const waited = this.#clock.monotonic() - started;
      if (waited >= waitMs || this.closed) {
        this.#internals.emit('conflict', { key, source, reason: 'in-progress' });
        throw new IdempotencyConflictError(
          `key "${key}" is held by an execution that has not finished; retry after ${result.retryAfterMs} ms at most`,
          { key, reason: 'in-progress', retryAfterMs: result.retryAfterMs },
        );
      }
      await sleep(Math.max(1, Math.min(pause, result.retryAfterMs, waitMs - waited)), { signal });
      pause = Math.min(pause * 2, 250);
    }
  }

  /** @internal Keeps background work (a result stored after the response went out) until it settles; close() waits for it. */
  track(work: Promise<unknown>): void {
    const p = work.catch(() => {}).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** @internal The events, for the middleware and the queue. */
  get internals(): IdempotencyInternals {
    return this.#internals;
  }

  #checkOpen(): void {
    this.#life.assertOpen();
  }

  /**
   * Stops new work, waits for results still being stored (at most
   * `leaseMs`), then closes the store if this object created it (a store
   * you passed is yours to close). Safe to call more than once.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => keys.close());
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(() => this.#close());
  }

  async #close(): Promise<void> {
    if (this.#pending.size > 0) {
      const deadline = waitOrAbort(this.#leaseMs, undefined);
      await Promise.race([Promise.allSettled([...this.#pending]), deadline.passed]);
      deadline.cancel();
    }
    if (this.#ownsStore) await this.#store.close();
    this.#events.clear();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
