import { randomBytes } from 'node:crypto';
import type { LockAcquireResult, LockAdapter, LockExtendResult } from '../contracts/lock.js';
import { TimeoutError } from '../errors.js';
import { DeadlineSweep } from '../internal/deadline-sweep.js';
import type { Subscription } from '../types.js';
import type { ReportFailure } from './lock-events.js';

/**
 * The calls a lock or semaphore makes to its adapter, each bounded by
 * `operationTimeoutMs` (on a {@link DeadlineSweep}: past it the call counts
 * as failed, so the lock fails closed), and the owner tokens they present.
 *
 * Owner tokens are a random prefix per lock plus a counter: unique, and
 * cheaper than random bytes per call. A token never leaves its lease.
 *
 * @internal
 */
export class LockCalls {
  readonly adapter: LockAdapter;
  /** Holders per resource: 1 for a lock. */
  readonly limit: number;
  readonly #deadlines: DeadlineSweep;
  readonly #report: ReportFailure;
  readonly #tokenPrefix = `${randomBytes(12).toString('base64url')}.`;
  #tokenSeq = 0;

  constructor(adapter: LockAdapter, limit: number, operationTimeoutMs: number, report: ReportFailure) {
    this.adapter = adapter;
    this.limit = limit;
    this.#deadlines = new DeadlineSweep(operationTimeoutMs, 'lock');
    this.#report = report;
  }

  /** A new owner token. */
  newToken(): string {
    this.#tokenSeq += 1;
    return this.#tokenPrefix + this.#tokenSeq.toString(36);
  }

  /** One acquire; a timed-out call may still land, so its token is released in the background. */
  async acquire(resource: string, token: string, ttlMs: number): Promise<LockAcquireResult> {
    try {
      return await this.#deadlines.track(
        this.adapter.acquire({ resource, token, ttlMs, limit: this.limit }),
        'acquire',
      );
    } catch (err) {
      if (err instanceof TimeoutError) this.#releaseToken(resource, token);
      throw err;
    }
  }

  #releaseToken(resource: string, token: string): void {
    this.adapter.release({ resource, token, limit: this.limit }).then(
      () => {},
      (error: unknown) => this.#report(resource, 'release', error),
    );
  }

  /** Gives a hold back: true if `token` still owned it. */
  release(resource: string, token: string): Promise<boolean> {
    return this.#deadlines.track(this.adapter.release({ resource, token, limit: this.limit }), 'release');
  }

  /** Resets a hold's TTL if `token` still owns it. */
  extend(resource: string, token: string, ttlMs: number): Promise<LockExtendResult> {
    return this.#deadlines.track(
      this.adapter.extend({ resource, token, ttlMs, limit: this.limit }),
      'extend',
    );
  }

  /** Release notifications of `resource`; a synchronous throw becomes a rejection. */
  onRelease(resource: string, listener: () => void): Promise<Subscription> {
    try {
      return this.adapter.onRelease(resource, this.limit, listener);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Stops the time-limit sweep (a later call restarts it: releases still work after close). */
  stop(): void {
    this.#deadlines.stop();
  }
}
