/**
 * Every error scaleout throws is a {@link ScaleoutError}: it carries a stable
 * `code` from the closed {@link ErrorCode} union and, where one exists, the
 * underlying `cause`. Switch on `code`, never on `message`.
 *
 * Messages never contain secrets (passwords, tokens, keys) or raw user
 * payloads; they name what failed and why.
 *
 * @module
 */

/**
 * The closed list of error codes. Each code belongs to exactly one error class.
 */
export const ERROR_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_OPTIONS',
  'ERR_SERIALIZE',
  'ERR_DESERIALIZE',
  'ERR_UNSAFE_PAYLOAD',
  'ERR_TIMEOUT',
  'ERR_ABORTED',
  'ERR_CONNECTION',
  'ERR_CLOSED',
  // lock
  'ERR_LOCK_NOT_ACQUIRED',
  'ERR_LOCK_LOST',
  'ERR_LEASE_EXPIRED',
] as const;

/** A stable, machine-readable error code. See {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Brand shared by every copy of the package loaded in one process, so that
 * {@link isScaleoutError} recognises errors thrown by another copy (two
 * versions in node_modules, or ESM and CJS builds side by side).
 */
const BRAND: unique symbol = Symbol.for('scaleout.error') as never;

/** Options accepted by every scaleout error constructor. */
export interface ScaleoutErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error thrown by scaleout.
 *
 * @example
 * ```ts
 * try {
 *   await cache.get('user:1');
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_TIMEOUT')) retryLater();
 *   else throw err;
 * }
 * ```
 */
export abstract class ScaleoutError extends Error {
  /** The stable error code; one per subclass. */
  abstract readonly code: ErrorCode;
  /** @internal brand for cross-copy detection. */
  readonly [BRAND] = true;

  constructor(message: string, options?: ScaleoutErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/**
 * True when `value` is an error thrown by any copy of scaleout (optionally
 * with the given code). Works across two copies of the package, where
 * `instanceof` would not.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_CONNECTION')) metrics.redisDown.inc();
 * ```
 */
export function isScaleoutError(value: unknown, code?: ErrorCode): value is ScaleoutError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/**
 * An argument passed to a method is invalid (empty key, negative TTL, ...).
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError('key must be a non-empty string', { argument: 'key' });
 * ```
 */
export class InvalidArgumentError extends ScaleoutError {
  readonly code = 'ERR_INVALID_ARGUMENT' as const;
  /** The name of the offending argument, when known. */
  readonly argument: string | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { argument?: string }) {
    super(message, options);
    this.argument = options?.argument;
  }
}

/**
 * An options object given to a constructor or factory is invalid.
 *
 * @example
 * ```ts
 * throw new InvalidOptionsError('defaultTtlMs must be a positive integer', { option: 'defaultTtlMs' });
 * ```
 */
export class InvalidOptionsError extends ScaleoutError {
  readonly code = 'ERR_INVALID_OPTIONS' as const;
  /** The name of the offending option, when known. */
  readonly option: string | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { option?: string }) {
    super(message, options);
    this.option = options?.option;
  }
}

/**
 * A value could not be serialized (circular structure, BigInt, `undefined`, ...).
 *
 * @example
 * ```ts
 * try { serializer.serialize(value); } catch (e) { if (e instanceof SerializationError) drop(); }
 * ```
 */
export class SerializationError extends ScaleoutError {
  readonly code = 'ERR_SERIALIZE' as const;
}

/**
 * Stored or received text could not be parsed back into a value.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_DESERIALIZE')) deadLetter(message);
 * ```
 */
export class DeserializationError extends ScaleoutError {
  readonly code = 'ERR_DESERIALIZE' as const;
}

/**
 * A payload carries a prototype-pollution key (`__proto__`, or
 * `constructor.prototype`) and was refused.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_UNSAFE_PAYLOAD')) log.warn('refused unsafe payload', { path: err.path });
 * ```
 */
export class UnsafePayloadError extends ScaleoutError {
  readonly code = 'ERR_UNSAFE_PAYLOAD' as const;
  /** Where in the value the key was found, e.g. `$.user.__proto__`. */
  readonly path: string;
  constructor(message: string, path: string, options?: ScaleoutErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/**
 * An operation did not complete within its time limit.
 *
 * @example
 * ```ts
 * throw new TimeoutError('redis GET timed out', { timeoutMs: 50 });
 * ```
 */
export class TimeoutError extends ScaleoutError {
  readonly code = 'ERR_TIMEOUT' as const;
  /** The limit that was exceeded, in milliseconds, when known. */
  readonly timeoutMs: number | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { timeoutMs?: number }) {
    super(message, options);
    this.timeoutMs = options?.timeoutMs;
  }
}

/**
 * The operation was cancelled through its AbortSignal. `cause` holds the
 * signal's reason.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * ac.abort();
 * await sleep(100, { signal: ac.signal }); // throws AbortedError
 * ```
 */
export class AbortedError extends ScaleoutError {
  readonly code = 'ERR_ABORTED' as const;
}

/**
 * A backing server (Redis, RabbitMQ, an upstream) could not be reached or
 * dropped the connection. Connection strings in the message are redacted.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_CONNECTION')) serveFromFallback();
 * ```
 */
export class ConnectionError extends ScaleoutError {
  readonly code = 'ERR_CONNECTION' as const;
}

/**
 * The object was used after `close()`.
 *
 * @example
 * ```ts
 * await cache.close();
 * await cache.get('k'); // throws ClosedError
 * ```
 */
export class ClosedError extends ScaleoutError {
  readonly code = 'ERR_CLOSED' as const;
}

// ---- lock ----

/**
 * A lock or semaphore slot could not be acquired within `waitMs` (or at
 * once, for a zero wait): someone else holds it.
 *
 * @example
 * ```ts
 * try {
 *   await locks.acquire('report:daily', { ttlMs: 30_000, waitMs: 1_000 });
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_LOCK_NOT_ACQUIRED')) return 'someone else is running it';
 *   throw err;
 * }
 * ```
 */
export class LockNotAcquiredError extends ScaleoutError {
  readonly code = 'ERR_LOCK_NOT_ACQUIRED' as const;
  /** The resource that was asked for. */
  readonly resource: string;
  /** How long the caller waited, in ms. */
  readonly waitedMs: number;
  constructor(message: string, resource: string, waitedMs: number, options?: ScaleoutErrorOptions) {
    super(message, options);
    this.resource = resource;
    this.waitedMs = waitedMs;
  }
}

/**
 * A lease was lost before its holder released it: an extend found another
 * owner (or none), or could not reach the server. It is the `reason` of the
 * lease's `signal` in that case.
 *
 * @example
 * ```ts
 * lease.signal.addEventListener('abort', () => {
 *   if (isScaleoutError(lease.signal.reason, 'ERR_LOCK_LOST')) stopWriting();
 * });
 * ```
 */
export class LockLostError extends ScaleoutError {
  readonly code = 'ERR_LOCK_LOST' as const;
  /** The resource whose lease was lost. */
  readonly resource: string;
  constructor(message: string, resource: string, options?: ScaleoutErrorOptions) {
    super(message, options);
    this.resource = resource;
  }
}

/**
 * A lease reached its local deadline (server expiry minus the drift
 * margin) without being extended. It is the `reason` of the lease's
 * `signal` then: stop work that needs exclusivity.
 *
 * @example
 * ```ts
 * if (isScaleoutError(lease.signal.reason, 'ERR_LEASE_EXPIRED')) log.warn('work outlived its lease');
 * ```
 */
export class LeaseExpiredError extends ScaleoutError {
  readonly code = 'ERR_LEASE_EXPIRED' as const;
  /** The resource whose lease ran out. */
  readonly resource: string;
  constructor(message: string, resource: string, options?: ScaleoutErrorOptions) {
    super(message, options);
    this.resource = resource;
  }
}
