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
 *
 * @example
 * ```ts
 * if ((ERROR_CODES as readonly string[]).includes(code)) handle(code);
 * ```
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
  'ERR_CORRUPT_DATA',
  'ERR_PAYLOAD_TOO_LARGE',
  // registry
  'ERR_NO_INSTANCES',
  'ERR_DUPLICATE_REGISTRATION',
  'ERR_NOT_REGISTERED',
  // queue
  'ERR_QUEUE_BUFFER_FULL',
  'ERR_PUBLISH_REJECTED',
  'ERR_QUEUE_MISMATCH',
  'ERR_CONSUMER_CANCELLED',
  // session
  'ERR_SESSION_CONFLICT',
  'ERR_SESSION_NOT_FOUND',
  // jwt
  'ERR_JWT_MALFORMED',
  'ERR_JWT_TOO_LARGE',
  'ERR_JWT_ALGORITHM',
  'ERR_JWT_UNSUPPORTED_HEADER',
  'ERR_JWT_INVALID_SIGNATURE',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_NOT_YET_VALID',
  'ERR_JWT_CLAIM_MISSING',
  'ERR_JWT_CLAIM_MISMATCH',
  'ERR_JWT_REVOKED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_FETCH',
  // cache
  'ERR_CACHE_VALUE_TOO_LARGE',
  // client
  'ERR_HTTP_STATUS',
  'ERR_CIRCUIT_OPEN',
  'ERR_BULKHEAD_FULL',
  'ERR_RETRY_BUDGET_EXHAUSTED',
  'ERR_NO_UPSTREAM',
  // lock
  'ERR_LOCK_NOT_ACQUIRED',
  'ERR_LOCK_LOST',
  'ERR_LEASE_EXPIRED',
  // idempotency
  'ERR_IDEMPOTENCY_CONFLICT',
  'ERR_IDEMPOTENCY_MISMATCH',
] as const;

/**
 * A stable, machine-readable error code. See {@link ERROR_CODES}.
 *
 * @example
 * ```ts
 * const code: ErrorCode = 'ERR_TIMEOUT';
 * ```
 */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Brand shared by every copy of the package loaded in one process, so that
 * {@link isScaleoutError} recognises errors thrown by another copy (two
 * versions in node_modules, or ESM and CJS builds side by side).
 */
const BRAND: unique symbol = Symbol.for('scaleout.error') as never;

/**
 * Options accepted by every scaleout error constructor.
 *
 * @example
 * ```ts
 * throw new ConnectionError('redis unreachable', { cause: err });
 * ```
 */
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
 * `instanceof` would not. With a code, it narrows to that code's class, so
 * its fields are typed (`err.resource`, `err.retryAfterMs`, ...).
 *
 * @example
 * ```ts
 * declare const err: unknown;
 * if (isScaleoutError(err, 'ERR_LOCK_NOT_ACQUIRED')) console.log(err.resource, err.waitedMs);
 * else if (isScaleoutError(err)) console.log(err.code);
 * ```
 */
export function isScaleoutError<C extends ErrorCode>(
  value: unknown,
  code: C,
): value is ScaleoutErrorByCode[C];
export function isScaleoutError(value: unknown): value is AnyScaleoutError;
export function isScaleoutError(value: unknown, code?: ErrorCode): boolean {
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
  /** The option probably meant, for an unknown key close to a known one (`expiresIn` → `expiresInMs`). */
  readonly suggestion: string | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { option?: string; suggestion?: string }) {
    super(message, options);
    this.option = options?.option;
    this.suggestion = options?.suggestion;
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
  constructor(message: string, options: ScaleoutErrorOptions & { path: string }) {
    super(message, options);
    this.path = options.path;
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

/**
 * A record read back from a store is not in the shape scaleout writes: a key
 * of the wrong Redis type (`WRONGTYPE`), a field that does not parse, a
 * counter out of range. Another program wrote it, or it was damaged. This is
 * a data error, not an outage: it does not count toward circuits, and other
 * keys keep working. `key` is the store key (never the value).
 *
 * @example
 * ```ts
 * try {
 *   await cache.increment('visits');
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_CORRUPT_DATA')) log.error('foreign data', { key: err.key });
 * }
 * ```
 */
export class CorruptDataError extends ScaleoutError {
  readonly code = 'ERR_CORRUPT_DATA' as const;
  /** The store key holding the bad record, when known (namespace included). */
  readonly key: string | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { key?: string }) {
    super(message, options);
    this.key = options?.key;
  }
}

/**
 * A payload (session data, queue message) is larger than the configured
 * cap; it was not stored or sent.
 *
 * @example
 * ```ts
 * try {
 *   await queue.publish('order.created', order);
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_PAYLOAD_TOO_LARGE')) log.warn('too big', { bytes: err.bytes, maxBytes: err.maxBytes });
 * }
 * ```
 */
export class PayloadTooLargeError extends ScaleoutError {
  readonly code = 'ERR_PAYLOAD_TOO_LARGE' as const;
  /** Size of the serialized payload, in bytes (UTF-8). */
  readonly bytes: number;
  /** The cap it exceeded, in bytes. */
  readonly maxBytes: number;
  constructor(message: string, options: ScaleoutErrorOptions & { bytes: number; maxBytes: number }) {
    super(message, options);
    this.bytes = options.bytes;
    this.maxBytes = options.maxBytes;
  }
}

// ---- registry ----

/**
 * No instance of the service can take a request: none is registered, or the
 * service is not known to this registry yet.
 *
 * @example
 * ```ts
 * try {
 *   const instance = await registry.getServiceInstance('inventory-service');
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_NO_INSTANCES')) return res.status(503).end();
 *   throw err;
 * }
 * ```
 */
export class NoInstancesError extends ScaleoutError {
  readonly code = 'ERR_NO_INSTANCES' as const;
  /** The service that has no instance to offer. */
  readonly service: string;
  constructor(message: string, options: ScaleoutErrorOptions & { service: string }) {
    super(message, options);
    this.service = options.service;
  }
}

/**
 * The same URL is already registered for the service by this registry.
 *
 * @example
 * ```ts
 * await registry.register('pricing', 'http://127.0.0.1:4001');
 * await registry.register('pricing', 'http://127.0.0.1:4001'); // throws DuplicateRegistrationError
 * ```
 */
export class DuplicateRegistrationError extends ScaleoutError {
  readonly code = 'ERR_DUPLICATE_REGISTRATION' as const;
  /** The service of the duplicate registration. */
  readonly service: string;
  constructor(message: string, options: ScaleoutErrorOptions & { service: string }) {
    super(message, options);
    this.service = options.service;
  }
}

/**
 * A deregistration (or lease operation) names a service and URL that this
 * registry did not register.
 *
 * @example
 * ```ts
 * await registry.deregister('pricing', 'http://127.0.0.1:9999'); // throws NotRegisteredError
 * ```
 */
export class NotRegisteredError extends ScaleoutError {
  readonly code = 'ERR_NOT_REGISTERED' as const;
  /** The service named by the call. */
  readonly service: string;
  constructor(message: string, options: ScaleoutErrorOptions & { service: string }) {
    super(message, options);
    this.service = options.service;
  }
}

// ---- queue ----

/**
 * A publish was refused because the queue adapter is disconnected and its
 * bounded buffer of waiting publishes is full. Nothing was sent; retry later
 * or shed load.
 *
 * @example
 * ```ts
 * try {
 *   await queue.publish('order.created', order);
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_QUEUE_BUFFER_FULL')) return reply(503);
 *   throw err;
 * }
 * ```
 */
export class QueueBufferFullError extends ScaleoutError {
  readonly code = 'ERR_QUEUE_BUFFER_FULL' as const;
  /** The buffer's capacity (number of waiting publishes). */
  readonly capacity: number;
  constructor(message: string, options: ScaleoutErrorOptions & { capacity: number }) {
    super(message, options);
    this.capacity = options.capacity;
  }
}

/**
 * The broker refused a published message (a negative publisher confirm), so
 * it is not stored. Safe to retry with the same message id.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_PUBLISH_REJECTED')) await queue.publish(topic, order, { messageId });
 * ```
 */
export class PublishRejectedError extends ScaleoutError {
  readonly code = 'ERR_PUBLISH_REJECTED' as const;
}

/**
 * A queue already exists on the broker with arguments other than the ones
 * scaleout declares (RabbitMQ answered `406 PRECONDITION_FAILED`): it was
 * declared elsewhere, or by another version. `queue` names it; the message
 * names the mismatch and how to adopt the existing queue.
 *
 * @example
 * ```ts
 * try {
 *   await queue.publish('order.created', order);
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_QUEUE_MISMATCH')) log.error(err.message, { queue: err.queue });
 * }
 * ```
 */
export class QueueMismatchError extends ScaleoutError {
  readonly code = 'ERR_QUEUE_MISMATCH' as const;
  /** The broker queue whose declaration did not match. */
  readonly queue: string;
  constructor(message: string, options: ScaleoutErrorOptions & { queue: string }) {
    super(message, options);
    this.queue = options.queue;
  }
}

/**
 * The broker cancelled a consumer (RabbitMQ sent `basic.cancel`): its queue
 * was deleted, or the node holding it was lost. Reported through the queue's
 * `error` event (not thrown); the adapter then consumes the queue again,
 * declaring it anew, with backoff. `queue` names the broker queue.
 *
 * @example
 * ```ts
 * queue.on('error', ({ error }) => {
 *   if (isScaleoutError(error, 'ERR_CONSUMER_CANCELLED')) alert(`queue ${error.queue} was deleted`);
 * });
 * ```
 */
export class ConsumerCancelledError extends ScaleoutError {
  readonly code = 'ERR_CONSUMER_CANCELLED' as const;
  /** The broker queue whose consumer was cancelled. */
  readonly queue: string;
  constructor(message: string, options: ScaleoutErrorOptions & { queue: string }) {
    super(message, options);
    this.queue = options.queue;
  }
}

// ---- session ----

/**
 * A versioned session update lost a race: the session changed since the
 * version the caller read. Re-read and retry, or pass a merge callback to
 * `SessionStore.update` which retries for you.
 *
 * @example
 * ```ts
 * try {
 *   await sessions.update(id, next, { expectedVersion: 3 });
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_SESSION_CONFLICT')) return reply.status(409);
 *   throw err;
 * }
 * ```
 */
export class SessionConflictError extends ScaleoutError {
  readonly code = 'ERR_SESSION_CONFLICT' as const;
  /** The version the caller expected. */
  readonly expectedVersion: number;
  /** The version found, when known. */
  readonly actualVersion: number | undefined;
  constructor(
    message: string,
    options: ScaleoutErrorOptions & { expectedVersion: number; actualVersion?: number | undefined },
  ) {
    super(message, options);
    this.expectedVersion = options.expectedVersion;
    this.actualVersion = options.actualVersion;
  }
}

/**
 * The session does not exist (never created, expired, destroyed, or the id
 * is malformed). The message never contains the id.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_SESSION_NOT_FOUND')) return redirectToLogin();
 * ```
 */
export class SessionNotFoundError extends ScaleoutError {
  readonly code = 'ERR_SESSION_NOT_FOUND' as const;
}

// ---- jwt ----

/**
 * Base of every JWT verification failure. Messages name the check that
 * failed; they never contain the token, its signature or any key.
 *
 * @example
 * ```ts
 * try { await jwt.verify(token); } catch (err) {
 *   if (err instanceof JwtError) return unauthorized(err.code);
 *   throw err;
 * }
 * ```
 */
export abstract class JwtError extends ScaleoutError {}

/**
 * The token is not a well-formed compact JWS (wrong number of parts, bad
 * base64url, header or payload not a JSON object, ...).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_MALFORMED')) return unauthorized();
 * ```
 */
export class JwtMalformedError extends JwtError {
  readonly code = 'ERR_JWT_MALFORMED' as const;
}

/**
 * The token is longer than `maxTokenBytes` and was refused before parsing.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_TOO_LARGE')) return unauthorized();
 * ```
 */
export class JwtTooLargeError extends JwtError {
  readonly code = 'ERR_JWT_TOO_LARGE' as const;
  /** The configured limit, in bytes. */
  readonly maxBytes: number;
  constructor(message: string, options: ScaleoutErrorOptions & { maxBytes: number }) {
    super(message, options);
    this.maxBytes = options.maxBytes;
  }
}

/**
 * The token's `alg` is not in the allowed list (`none`, an HMAC algorithm
 * against an asymmetric key, ...).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_ALGORITHM')) log.warn('token with a refused alg');
 * ```
 */
export class JwtAlgorithmError extends JwtError {
  readonly code = 'ERR_JWT_ALGORITHM' as const;
}

/**
 * The token's header asks for something not supported (a `crit` extension,
 * an embedded `jwk`, `b64: false`, ...).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_UNSUPPORTED_HEADER')) return unauthorized();
 * ```
 */
export class JwtUnsupportedHeaderError extends JwtError {
  readonly code = 'ERR_JWT_UNSUPPORTED_HEADER' as const;
}

/**
 * The signature does not match the header and payload under any allowed key.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_INVALID_SIGNATURE')) metrics.forged.inc();
 * ```
 */
export class JwtInvalidSignatureError extends JwtError {
  readonly code = 'ERR_JWT_INVALID_SIGNATURE' as const;
}

/**
 * The token's `exp` is in the past (beyond the clock tolerance).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_EXPIRED')) return refresh();
 * ```
 */
export class JwtExpiredError extends JwtError {
  readonly code = 'ERR_JWT_EXPIRED' as const;
}

/**
 * The token's `nbf` (or `iat`) is in the future (beyond the clock tolerance).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_NOT_YET_VALID')) return unauthorized();
 * ```
 */
export class JwtNotYetValidError extends JwtError {
  readonly code = 'ERR_JWT_NOT_YET_VALID' as const;
}

/**
 * A required claim (`exp` always; `iss`, `aud`, `sub`, `jti` when configured)
 * is absent or of the wrong type.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_CLAIM_MISSING')) log.warn('token without', { claim: err.claim });
 * ```
 */
export class JwtClaimMissingError extends JwtError {
  readonly code = 'ERR_JWT_CLAIM_MISSING' as const;
  /** The claim name. */
  readonly claim: string;
  constructor(message: string, options: ScaleoutErrorOptions & { claim: string }) {
    super(message, options);
    this.claim = options.claim;
  }
}

/**
 * A claim has a value other than the configured one (`iss`, `aud`).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_CLAIM_MISMATCH')) log.warn('foreign token', { claim: err.claim });
 * ```
 */
export class JwtClaimMismatchError extends JwtError {
  readonly code = 'ERR_JWT_CLAIM_MISMATCH' as const;
  /** The claim name. */
  readonly claim: string;
  constructor(message: string, options: ScaleoutErrorOptions & { claim: string }) {
    super(message, options);
    this.claim = options.claim;
  }
}

/**
 * The token's `jti` is on the denylist (revoked before it expired).
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWT_REVOKED')) return unauthorized();
 * ```
 */
export class JwtRevokedError extends JwtError {
  readonly code = 'ERR_JWT_REVOKED' as const;
}

/**
 * No key of the key set matches the token's `kid` / `alg`, even after one
 * refetch of a remote JWKS.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWKS_NO_MATCHING_KEY')) return unauthorized();
 * ```
 */
export class JwksNoMatchingKeyError extends JwtError {
  readonly code = 'ERR_JWKS_NO_MATCHING_KEY' as const;
}

/**
 * A remote JWKS could not be fetched or parsed and no cached key could be
 * used instead. The URL in the message is redacted.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_JWKS_FETCH')) return serviceUnavailable();
 * ```
 */
export class JwksFetchError extends JwtError {
  readonly code = 'ERR_JWKS_FETCH' as const;
}

// ---- cache ----

/**
 * A value's serialized form is larger than the cache's `maxValueBytes`; it
 * was not stored.
 *
 * @example
 * ```ts
 * try {
 *   await cache.set('report', hugeReport);
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_CACHE_VALUE_TOO_LARGE')) log.warn('not cached', { bytes: err.bytes });
 * }
 * ```
 */
export class CacheValueTooLargeError extends ScaleoutError {
  readonly code = 'ERR_CACHE_VALUE_TOO_LARGE' as const;
  /** Size of the serialized value, in bytes (UTF-8). */
  readonly bytes: number;
  /** The cap it exceeded, in bytes. */
  readonly maxBytes: number;
  constructor(message: string, options: ScaleoutErrorOptions & { bytes: number; maxBytes: number }) {
    super(message, options);
    this.bytes = options.bytes;
    this.maxBytes = options.maxBytes;
  }
}

// ---- client ----

/**
 * What an {@link HttpStatusError} keeps of the response: never the request's headers.
 *
 * @example
 * ```ts
 * if (err instanceof HttpStatusError) console.log(err.response.status, err.response.data);
 * ```
 */
export interface HttpErrorResponse {
  /** The HTTP status code. */
  readonly status: number;
  /** The response headers (lower-case names). */
  readonly headers: Readonly<Record<string, unknown>>;
  /** The decoded response body. */
  readonly data: unknown;
}

/**
 * An upstream answered with an HTTP status the caller did not accept
 * (4xx/5xx by default), after any retries. `response` holds the status,
 * headers and body of the last answer.
 *
 * @example
 * ```ts
 * try {
 *   await inventory.get('/items/42');
 * } catch (err) {
 *   if (err instanceof HttpStatusError && err.status === 404) return undefined;
 *   throw err;
 * }
 * ```
 */
export class HttpStatusError extends ScaleoutError {
  readonly code = 'ERR_HTTP_STATUS' as const;
  /** The HTTP status code of the last response. */
  readonly status: number;
  /** The last response. */
  readonly response: HttpErrorResponse;
  /** The request method, upper case. */
  readonly method: string;
  /** The request URL with credentials redacted. */
  readonly url: string;
  constructor(
    message: string,
    options: ScaleoutErrorOptions & { response: HttpErrorResponse; method: string; url: string },
  ) {
    super(message, options);
    this.status = options.response.status;
    this.response = options.response;
    this.method = options.method;
    this.url = options.url;
  }
}

/**
 * A circuit breaker is open (or half-open with all probe slots taken): the
 * call failed fast without reaching the upstream.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_CIRCUIT_OPEN')) return cachedFallback();
 * ```
 */
export class CircuitOpenError extends ScaleoutError {
  readonly code = 'ERR_CIRCUIT_OPEN' as const;
  /** Milliseconds until the breaker lets a probe through, when known. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: ScaleoutErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A bulkhead refused work: every slot was busy and its queue was full.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_BULKHEAD_FULL')) res.status(503).end();
 * ```
 */
export class BulkheadFullError extends ScaleoutError {
  readonly code = 'ERR_BULKHEAD_FULL' as const;
}

/**
 * A retry was wanted but the retry budget of the upstream had no token
 * left: the upstream is failing for many callers and retrying would only
 * add load. `cause` is the error of the last attempt.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_RETRY_BUDGET_EXHAUSTED')) metrics.shed.inc();
 * ```
 */
export class RetryBudgetExhaustedError extends ScaleoutError {
  readonly code = 'ERR_RETRY_BUDGET_EXHAUSTED' as const;
}

/**
 * No instance of a service was available to call (none registered, or every
 * instance already tried or ejected).
 *
 * @example
 * ```ts
 * throw new NoUpstreamError('no instance of "inventory" is available');
 * ```
 */
export class NoUpstreamError extends ScaleoutError {
  readonly code = 'ERR_NO_UPSTREAM' as const;
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
  constructor(message: string, options: ScaleoutErrorOptions & { resource: string; waitedMs: number }) {
    super(message, options);
    this.resource = options.resource;
    this.waitedMs = options.waitedMs;
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
  constructor(message: string, options: ScaleoutErrorOptions & { resource: string }) {
    super(message, options);
    this.resource = options.resource;
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
  constructor(message: string, options: ScaleoutErrorOptions & { resource: string }) {
    super(message, options);
    this.resource = options.resource;
  }
}

// ---- idempotency ----

/**
 * An idempotency key is taken by an execution that has not finished
 * (`reason: 'in-progress'`: it was still running after the wait; retry
 * later, `retryAfterMs` says when its claim ends at the latest), or that
 * finished without a result that can be replayed (`reason: 'not-kept'`:
 * too large or not serializable). Nothing ran. HTTP answers it with 409.
 *
 * @example
 * ```ts
 * try {
 *   await keys.run(`refund:${id}`, () => provider.refund(id));
 * } catch (err) {
 *   if (isScaleoutError(err, 'ERR_IDEMPOTENCY_CONFLICT')) return retryLater(err.retryAfterMs);
 *   throw err;
 * }
 * ```
 */
export class IdempotencyConflictError extends ScaleoutError {
  readonly code = 'ERR_IDEMPOTENCY_CONFLICT' as const;
  /** The idempotency key as the store knows it (a digest for HTTP requests). */
  readonly key: string;
  /** `in-progress`: another execution holds the key; `not-kept`: it finished, with no result kept. */
  readonly reason: 'in-progress' | 'not-kept';
  /** For `in-progress`: ms until the holder's claim expires at the latest. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: ScaleoutErrorOptions & {
      key: string;
      reason: 'in-progress' | 'not-kept';
      retryAfterMs?: number | undefined;
    },
  ) {
    super(message, options);
    this.key = options.key;
    this.reason = options.reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * An idempotency key was used again with another request (another
 * fingerprint: method, path or body for HTTP). Nothing ran; it is a bug of
 * the caller, not worth a retry. HTTP answers it with 422.
 *
 * @example
 * ```ts
 * if (isScaleoutError(err, 'ERR_IDEMPOTENCY_MISMATCH')) log.error('key reused', { key: err.key });
 * ```
 */
export class IdempotencyMismatchError extends ScaleoutError {
  readonly code = 'ERR_IDEMPOTENCY_MISMATCH' as const;
  /** The idempotency key as the store knows it (a digest for HTTP requests). */
  readonly key: string;
  constructor(message: string, options: ScaleoutErrorOptions & { key: string }) {
    super(message, options);
    this.key = options.key;
  }
}

/**
 * Every concrete error scaleout throws, as a union discriminated by `code`
 * (narrow with `switch (err.code)` or {@link isScaleoutError}).
 *
 * @example
 * ```ts
 * function status(err: AnyScaleoutError): number {
 *   switch (err.code) {
 *     case 'ERR_CIRCUIT_OPEN':
 *       return 503;
 *     case 'ERR_HTTP_STATUS':
 *       return err.status;
 *     default:
 *       return 500;
 *   }
 * }
 * ```
 */
export type AnyScaleoutError =
  | InvalidArgumentError
  | InvalidOptionsError
  | SerializationError
  | DeserializationError
  | UnsafePayloadError
  | TimeoutError
  | AbortedError
  | ConnectionError
  | ClosedError
  | CorruptDataError
  | PayloadTooLargeError
  | NoInstancesError
  | DuplicateRegistrationError
  | NotRegisteredError
  | QueueBufferFullError
  | PublishRejectedError
  | QueueMismatchError
  | ConsumerCancelledError
  | SessionConflictError
  | SessionNotFoundError
  | JwtMalformedError
  | JwtTooLargeError
  | JwtAlgorithmError
  | JwtUnsupportedHeaderError
  | JwtInvalidSignatureError
  | JwtExpiredError
  | JwtNotYetValidError
  | JwtClaimMissingError
  | JwtClaimMismatchError
  | JwtRevokedError
  | JwksNoMatchingKeyError
  | JwksFetchError
  | CacheValueTooLargeError
  | HttpStatusError
  | CircuitOpenError
  | BulkheadFullError
  | RetryBudgetExhaustedError
  | NoUpstreamError
  | LockNotAcquiredError
  | LockLostError
  | LeaseExpiredError
  | IdempotencyConflictError
  | IdempotencyMismatchError;

/**
 * The error class of each code: `ScaleoutErrorByCode['ERR_TIMEOUT']` is
 * {@link TimeoutError}. What {@link isScaleoutError} narrows to.
 *
 * @example
 * ```ts
 * const fields = (e: ScaleoutErrorByCode['ERR_LOCK_LOST']) => e.resource;
 * ```
 */
export type ScaleoutErrorByCode = {
  [C in ErrorCode]: Extract<AnyScaleoutError, Readonly<Record<'code', C>>>;
};
