import { listenerChecker } from '../internal/validate.js';

/**
 * Where a key was used: `run()` / `idempotent()`, the HTTP middleware, or a
 * queue consumer's `dedupe`.
 *
 * @example
 * ```ts
 * const source: IdempotencySource = 'http';
 * ```
 */
export type IdempotencySource = 'run' | 'http' | 'queue';

/**
 * Payload of every {@link IdempotencyEvents} event: the key as the store
 * knows it (`fn:<key>`, `http:<digest>`, `queue:<topic>:<group>:<id>`) and
 * where it was used.
 *
 * @example
 * ```ts
 * keys.on('replayed', (e: IdempotencyKeyEvent) => metrics.replays.inc({ source: e.source }));
 * ```
 */
export interface IdempotencyKeyEvent {
  /** The store key. */
  key: string;
  /** Where the key was used. */
  source: IdempotencySource;
}

/**
 * Payload of the `conflict` event: a request was refused without running.
 *
 * @example
 * ```ts
 * keys.on('conflict', (e: IdempotencyConflictEvent) => log.warn('refused', { reason: e.reason }));
 * ```
 */
export interface IdempotencyConflictEvent extends IdempotencyKeyEvent {
  /** `in-progress` (409), `not-kept` (409) or `mismatch` (422). */
  reason: 'in-progress' | 'not-kept' | 'mismatch';
}

/**
 * Payload of the `stored` event: an execution's outcome was recorded, so
 * its key is done for `ttlMs`. `kept: false` when it was recorded without a
 * result to replay (`reason`): repeats of the key are then refused
 * (`not-kept`: `IdempotencyConflictError`, HTTP 409), never run again.
 *
 * @example
 * ```ts
 * keys.on('stored', (e: IdempotencyStoredEvent) => {
 *   if (!e.kept) log.warn('result not kept; repeats will be refused', { reason: e.reason, error: e.error });
 * });
 * ```
 */
export interface IdempotencyStoredEvent extends IdempotencyKeyEvent {
  /** Whether a result is kept for replay. */
  kept: boolean;
  /**
   * Why nothing was kept (only with `kept: false`): `too-large` (over
   * `maxStoredBytes`, or too many header lines), `unserializable` (the
   * serializer refused the result, or it would read back as other data),
   * `encoded` (an HTTP body sent with a `Content-Encoding`).
   */
  reason?: 'too-large' | 'unserializable' | 'encoded';
  /**
   * What refused the result, for `unserializable` from `run()`: a
   * `SerializationError` naming where the value sits and what it is
   * (`$.chargedAt`, a Date), never the value.
   */
  error?: unknown;
}

/**
 * Payload of the `released` event: an execution failed (or its result is
 * not to be kept, e.g. an HTTP 5xx), so its claim was dropped and a retry
 * runs again.
 *
 * @example
 * ```ts
 * keys.on('released', (e: IdempotencyReleasedEvent) => log.info('will run again', { key: e.key }));
 * ```
 */
export interface IdempotencyReleasedEvent extends IdempotencyKeyEvent {
  /** `failed`: it threw; `not-stored`: its outcome is not kept (5xx, 408, 425, 429). */
  reason: 'failed' | 'not-stored';
}

/**
 * Payload of the `error` event: the store failed in work the caller does
 * not wait for (storing a result after the response was sent, releasing a
 * claim), after its retries. A result not stored leaves its claim to
 * expire (`leaseMs`); a retry after that runs again.
 *
 * @example
 * ```ts
 * keys.on('error', (e: IdempotencyErrorEvent) => log.error('idempotency store failed', { op: e.operation }));
 * ```
 */
export interface IdempotencyErrorEvent extends IdempotencyKeyEvent {
  /** What failed. */
  operation: 'complete' | 'release';
  /** What the store threw. */
  error: unknown;
}

/**
 * Events of an {@link Idempotency}, by name.
 *
 * @example
 * ```ts
 * const off = keys.on('lost', (e) => alert('a lease ran out before its result was stored', e.key));
 * ```
 */
export type IdempotencyEvents = {
  /** A repeat got the stored result; nothing ran. */
  replayed: IdempotencyKeyEvent;
  /** A repeat was refused (409 / 422); nothing ran. */
  conflict: IdempotencyConflictEvent;
  /** An outcome was stored: a result to replay, or (`kept: false`) the key marked done without one. */
  stored: IdempotencyStoredEvent;
  /** A claim was dropped so that a retry runs. */
  released: IdempotencyReleasedEvent;
  /**
   * A result could not be stored because another execution holds the key:
   * this one outlived its lease and a retry ran beside it. Raise `leaseMs`.
   */
  lost: IdempotencyKeyEvent;
  /** The store failed in background work. */
  error: IdempotencyErrorEvent;
};

/** @internal Every event name of {@link IdempotencyEvents}. */
const EVENTS: ReadonlySet<string> = new Set(['replayed', 'conflict', 'stored', 'released', 'lost', 'error']);

/** @internal Checks the arguments of `on`/`off`. */
export const checkListener = listenerChecker(EVENTS);
