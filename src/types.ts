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
