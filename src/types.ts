/**
 * Public types shared by every primitive.
 *
 * @module
 */

/**
 * Structured fields attached to a log line. Never contains secrets.
 *
 * @example
 * ```ts
 * logger.warn?.('cache degraded', { operation: 'get' } satisfies LogFields);
 * ```
 */
export type LogFields = Record<string, unknown>;

/**
 * The logger scaleout writes to. scaleout never writes to the console by
 * itself; pass a logger to see what it does. Every method is optional, so
 * `console` or a pino/winston child (wrapped to this argument order) fits.
 *
 * @example
 * ```ts
 * const logger: Logger = {
 *   warn: (message, fields) => pino.warn(fields, message),
 *   error: (message, fields) => pino.error(fields, message),
 * };
 * ```
 */
export interface Logger {
  /** Fine-grained diagnostics. */
  debug?(message: string, fields?: LogFields): void;
  /** Notable, expected events (connected, failover). */
  info?(message: string, fields?: LogFields): void;
  /** Degraded operation (fail-open, retry budget exhausted). */
  warn?(message: string, fields?: LogFields): void;
  /** Failures the caller did not see as an exception. */
  error?(message: string, fields?: LogFields): void;
}

/**
 * Turns values into text for the wire and back. The default
 * ({@link jsonSerializer}) is JSON that refuses prototype-pollution payloads.
 *
 * Implementations throw `SerializationError` when a value cannot be
 * written, and `DeserializationError` or `UnsafePayloadError` when text
 * cannot be read back safely.
 *
 * @example
 * ```ts
 * const text = serializer.serialize({ id: 1 });
 * const value = serializer.deserialize<{ id: number }>(text);
 * ```
 */
export interface Serializer {
  /** Encodes a value. Throws `SerializationError` for values it cannot encode. */
  serialize(value: unknown): string;
  /** Decodes text written by {@link Serializer.serialize}. */
  deserialize<T = unknown>(text: string): T;
}

/**
 * A source of time. Injected so that tests can control it.
 *
 * @example
 * ```ts
 * const frozen: Clock = { now: () => 1_700_000_000_000, monotonic: () => 0 };
 * ```
 */
export interface Clock {
  /** Wall-clock time, milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic time in milliseconds (fractional), for measuring durations. */
  monotonic(): number;
}

/**
 * The clock backed by `Date.now()` and `performance.now()`.
 *
 * @example
 * ```ts
 * const started = systemClock.monotonic();
 * await work();
 * const tookMs = systemClock.monotonic() - started;
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/**
 * A logger that discards everything. The default wherever a logger is optional.
 *
 * @example
 * ```ts
 * const logger: Logger = options.logger ?? noopLogger;
 * ```
 */
export const noopLogger: Logger = Object.freeze({});

/**
 * The options every primitive takes (its options interface extends this):
 * where its data lives, where it logs, what time it reads. A primitive
 * closes an adapter only when it created it (no `adapter` given); an
 * adapter you pass stays open for the other primitives sharing it.
 *
 * @example
 * ```ts
 * interface MyPrimitiveOptions extends BaseOptions<CacheAdapter> {
 *   ttlMs?: number;
 * }
 * ```
 */
export interface BaseOptions<A> {
  /** The store. @default the primitive's memory adapter, created and closed by the primitive */
  adapter?: A;
  /** Receives warnings about failures the caller did not see. @default noopLogger */
  logger?: Logger;
  /** Time source. @default systemClock */
  clock?: Clock;
}

/**
 * What subscribing gives back, in every contract and primitive: one call
 * that ends the subscription. Idempotent; it resolves once nothing more will
 * be delivered.
 *
 * @example
 * ```ts
 * const subscription: Subscription = await adapter.subscribe('pricing', onChange);
 * await subscription.unsubscribe();
 * ```
 */
export interface Subscription {
  /** Ends the subscription; calling it again does nothing. */
  unsubscribe(): Promise<void>;
}
