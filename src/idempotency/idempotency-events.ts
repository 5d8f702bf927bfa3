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
  /** A result was stored. */
  stored: IdempotencyKeyEvent;
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
