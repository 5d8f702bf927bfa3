import type { IdempotencyStore } from '../contracts/idempotency.js';
import { isScaleoutError } from '../errors.js';
import { sleep } from '../internal/timers.js';
import type { Clock, Logger } from '../types.js';
import type { IdempotencyEvents, IdempotencySource } from './idempotency-events.js';
import { encodeStoredResult, type StoredResult } from './stored-result.js';

/** Failures worth another try within the lease: the store was unreachable or slow. */
function isTransient(err: unknown): boolean {
  return isScaleoutError(err, 'ERR_CONNECTION') || isScaleoutError(err, 'ERR_TIMEOUT');
}

/**
 * @internal One execution's hold on a key: store its result (`complete`)
 * or drop the hold so that a retry runs (`release`). Both retry through
 * store outages until the lease's deadline, then report an `error` event;
 * neither throws.
 */
export class IdempotencyClaim {
  readonly #owner: { readonly closed: boolean };
  readonly #internals: IdempotencyInternals;
  /** Monotonic ms after which the store has let the claim go. */
  readonly #deadline: number;
  #settled = false;

  constructor(
    owner: { readonly closed: boolean },
    internals: IdempotencyInternals,
    readonly key: string,
    readonly fingerprint: string,
    readonly source: IdempotencySource,
    readonly token: string,
  ) {
    this.#owner = owner;
    this.#internals = internals;
    this.#deadline = internals.clock.monotonic() + internals.leaseMs;
  }

  /**
   * Stores `result` for `ttlMs`; resolves true when stored. `cause`: what
   * refused the result when `result` keeps nothing (`none`), passed on in
   * the `stored` event.
   */
  async complete(result: StoredResult, ttlMs: number, cause?: unknown): Promise<boolean> {
    if (this.#settled) return false;
    this.#settled = true;
    const i = this.#internals;
    const response = encodeStoredResult(result);
    const stored = await this.#persist('complete', () =>
      i.store.complete({ key: this.key, owner: this.token, fingerprint: this.fingerprint, response, ttlMs }),
    );
    if (stored === true) {
      i.emit(
        'stored',
        result.kind === 'none'
          ? { key: this.key, source: this.source, kept: false, reason: result.reason, error: cause }
          : { key: this.key, source: this.source, kept: true },
      );
    } else if (stored === false) {
      i.emit('lost', { key: this.key, source: this.source });
      i.logger?.warn?.('idempotency: result not stored, another execution holds the key (lease too short?)', {
        key: this.key,
      });
    }
    return stored === true;
  }

  /** Drops the hold so that a retry runs. */
  async release(reason: 'failed' | 'not-stored'): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const i = this.#internals;
    const released = await this.#persist('release', () =>
      i.store.release({ key: this.key, owner: this.token }),
    );
    if (released !== undefined) i.emit('released', { key: this.key, source: this.source, reason });
  }

  /**
   * Runs a store operation, retrying transient failures with backoff until
   * the lease's deadline (after it the store has let the claim go anyway).
   * Undefined when it failed for good (reported as an `error` event).
   */
  async #persist(
    operation: 'complete' | 'release',
    op: () => Promise<boolean>,
  ): Promise<boolean | undefined> {
    const i = this.#internals;
    let pause = 25;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        const left = this.#deadline - i.clock.monotonic();
        if (!isTransient(err) || left <= pause || this.#owner.closed) {
          i.emit('error', { key: this.key, source: this.source, operation, error: err });
          return undefined;
        }
        await sleep(pause, { unref: true });
        pause = Math.min(pause * 2, 1_000);
      }
    }
  }
}

/** @internal What claims, the middleware and the queue share with their Idempotency. */
export interface IdempotencyInternals {
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  readonly leaseMs: number;
  readonly logger: Logger | undefined;
  emit<K extends keyof IdempotencyEvents>(event: K, payload: IdempotencyEvents[K]): void;
}
