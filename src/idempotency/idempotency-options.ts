import type { IdempotencyStore } from '../contracts/idempotency.js';
import { optionsChecker } from '../internal/validate.js';
import type { BaseOptions, Clock, Logger, Serializer } from '../types.js';

/**
 * Options of {@link Idempotency}. All optional.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: redis }), ttlMs: 86_400_000, waitMs: 2_000 });
 * ```
 */
export interface IdempotencyOptions extends BaseOptions<IdempotencyStore> {
  /**
   * Where records live (the `adapter` of every primitive; `store` before).
   * Pass a shared store (Redis) for more than one process; `close()` leaves
   * a store you passed open. @default a {@link MemoryIdempotencyStore} on `clock`, created (and closed) by this object
   */
  adapter?: IdempotencyStore;
  /**
   * How long a completed result is kept and replayed, in ms. Stripe keeps
   * keys 24 hours; so does scaleout: long enough for any client's retries
   * (including a retry the next morning), short enough to bound the store.
   * @default 86_400_000 (24 h)
   */
  ttlMs?: number;
  /**
   * How long a claim holds the key while its execution runs, in ms: the
   * in-progress record's own expiry (AWS Powertools' "in progress expiry").
   * Longer than the slowest execution; a crashed execution blocks its key
   * (409) at most this long, then a retry runs. @default 30_000
   */
  leaseMs?: number;
  /**
   * How long a concurrent duplicate waits for the execution holding the key
   * to finish (then it gets the stored result), in ms, before it is refused
   * (`IdempotencyConflictError`; HTTP 409). `0`: refuse at once.
   * @default 2_000
   */
  waitMs?: number;
  /**
   * Largest result kept, in bytes (the serialized value, or an HTTP
   * response body). A larger one is not kept: a repeat is refused
   * (`IdempotencyConflictError` with `reason: 'not-kept'`; HTTP 409),
   * never run again. @default 1_048_576 (1 MiB)
   */
  maxStoredBytes?: number;
  /** Encodes results of `run()` / `idempotent()`. @default jsonSerializer */
  serializer?: Serializer;
  /** Receives warnings (a result that could not be stored) and listener failures. @default noopLogger */
  logger?: Logger;
  /** Time source (waits, lease deadlines, and the default store's expiry). @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link IdempotencyOptions}.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ ttlMs: IDEMPOTENCY_DEFAULTS.ttlMs * 7 });
 * ```
 */
export const IDEMPOTENCY_DEFAULTS = Object.freeze({
  /** Completed results are kept 24 h (Stripe's window). */
  ttlMs: 86_400_000,
  /** A claim holds its key 30 s. */
  leaseMs: 30_000,
  /** A concurrent duplicate waits up to 2 s. */
  waitMs: 2_000,
  /** Results up to 1 MiB are kept. */
  maxStoredBytes: 1_048_576,
});

/** Largest `maxStoredBytes` accepted (16 MiB). */
export const MAX_STORED_BYTES_LIMIT = 16 * 1024 * 1024;

/**
 * Options of {@link Idempotency.run} and {@link idempotent}.
 *
 * @example
 * ```ts
 * await keys.run(`refund:${id}`, () => refund(id), { fingerprint: { id, amount }, ttlMs: 3_600_000 });
 * ```
 */
export interface IdempotencyRunOptions {
  /**
   * What the call is about (any serializable value, hashed): a repeat of the
   * key with another fingerprint is refused with `IdempotencyMismatchError`.
   * @default undefined (calls are not compared)
   */
  fingerprint?: unknown;
  /** How long this result is kept, in ms. @default the Idempotency's ttlMs */
  ttlMs?: number;
  /** Stops waiting for a concurrent execution when aborted (`AbortedError`); a running `fn` is not stopped. */
  signal?: AbortSignal;
}

const OPTION_HINTS = {
  // `store` was this option's name before every primitive took `adapter`.
  store: 'adapter',
  persistenceStore: 'adapter',
  ttl: 'ttlMs',
  expiresIn: 'ttlMs',
  expiresAfterMs: 'ttlMs',
  expiresAfterSeconds: 'ttlMs',
  lockTtlMs: 'leaseMs',
  inProgressTtlMs: 'leaseMs',
  inProgressExpiryMs: 'leaseMs',
  lease: 'leaseMs',
  wait: 'waitMs',
  timeout: 'waitMs',
  timeoutMs: 'waitMs',
  maxBytes: 'maxStoredBytes',
  maxResponseBytes: 'maxStoredBytes',
  maxSize: 'maxStoredBytes',
} as const;

/** The keys of {@link IdempotencyOptions}. */
export const IDEMPOTENCY_OPTION_KEYS = [
  'adapter',
  'ttlMs',
  'leaseMs',
  'waitMs',
  'maxStoredBytes',
  'serializer',
  'logger',
  'clock',
] as const;

/** @internal Refuses unknown keys of {@link IdempotencyOptions}. */
export const checkIdempotencyOptions = optionsChecker({
  where: 'Idempotency options',
  keys: IDEMPOTENCY_OPTION_KEYS,
  hints: OPTION_HINTS,
  bareNumber: 'ttlMs',
});

/** @internal Refuses unknown keys of {@link IdempotencyRunOptions}. */
export const checkRunOptions = optionsChecker({
  where: 'idempotency run() options',
  keys: ['fingerprint', 'ttlMs', 'signal'],
  hints: { ...OPTION_HINTS, hash: 'fingerprint', payload: 'fingerprint', abortSignal: 'signal' },
  bareNumber: 'ttlMs',
});

/** @internal the hints, for the middleware's own checker. */
export const IDEMPOTENCY_OPTION_HINTS: Readonly<Record<string, string>> = OPTION_HINTS;
