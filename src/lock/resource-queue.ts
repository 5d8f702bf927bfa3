import type { LockAcquireResult } from '../contracts/lock.js';
import { ClosedError, LockNotAcquiredError } from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { type ContextRunner, captureContext } from '../internal/async-context.js';
import { longTimeout, type TimerHandle, unrefTimeout } from '../internal/timers.js';
import type { Clock, Subscription } from '../types.js';
import type { Lease } from './lease.js';
import type { LockCalls } from './lock-calls.js';
import type { ReportFailure } from './lock-events.js';

/*
 * The wait queue of one resource in this process: local waiters, hand-off
 * on release notifications, jittered bounded polling, failing closed.
 *
 * Why: N callers of this process waiting for one resource must not send N
 * attempts per release (a thundering herd on the store) nor poll N times a
 * second. Only the head waiter talks to the store; the others wait
 * locally, in order.
 *
 * The states of a ResourceQueue (one per resource in use in this process):
 *
 *               first acquire                     granted, nobody waiting
 *   ABSENT ─────────────────────> ATTEMPTING ─────────────────────────────> HELD
 *     ▲                             ▲     │ refused, failed, or               │
 *     │                        pump │     │ granted with waiters behind       │
 *     │                             │     ▼                                   │
 *     │                            WAITING ── last waiter leaves ──> HELD     │
 *     └──────────── no waiter, no attempt, no local lease (dropIfIdle) ───────┘
 *
 * - ABSENT: no entry in the map. A first caller makes one direct attempt
 *   (`acquireFirst`) without queueing: the uncontended path costs one store
 *   call and no timer, subscription or waiter.
 * - ATTEMPTING (`attempting`): one acquire for the resource is in flight,
 *   a first caller's or the head waiter's (`pump`). Callers arriving now
 *   queue behind it rather than send their own doomed attempt; a release
 *   notification now sets `kickPending`, so that a refusal is retried at
 *   once instead of after a poll. Then, by the answer:
 *   - granted: the lease goes to its caller (or, if the head waiter gave up
 *     while the grant was on its way, back to the store). A semaphore
 *     (limit > 1) pumps again at once: another slot may be free. A lock
 *     with waiters left goes to WAITING; with none, to HELD.
 *   - refused: a first caller with time left joins the queue at its head
 *     (it came before those who queued meanwhile); then WAITING.
 *   - failed (the store did not answer, or the call timed out): fail
 *     closed. The caller whose attempt failed gets the error, never a
 *     grant; the next waiter makes its own attempt.
 * - WAITING: waiters, nothing in flight. The queue listens for release
 *   notifications (`subscription`, opened in the lock's own async context,
 *   kept until the queue empties) and polls as the fallback for lost
 *   notifications and crashed holders: after the holder's remaining TTL as
 *   the store reported it, bounded to [`retryMinMs`, `retryMaxMs`], +-20%
 *   jitter so that processes do not poll in step. Once the subscription is
 *   ready the queue tries again (a release between the refusal and the
 *   subscription would be missed). Anything that may free the resource
 *   pumps, i.e. attempts for the head: a notification (which a lock
 *   ignores while one of its own leases holds the resource: that lease's
 *   release pumps directly), the poll timer, a new caller, a local release
 *   (its release is sent before the head's attempt on the same connection,
 *   so the hand-off needs no notification round trip).
 * - HELD (`localHolders` > 0, no waiter, nothing in flight): subscription
 *   and poll dropped; the entry stays to count the local leases.
 *
 * A waiter leaves when it is served, when its `waitMs` runs out
 * (`LockNotAcquiredError`), when its signal aborts (`AbortedError`), when
 * its own attempt fails, or on close (`ClosedError`). Each waiter's
 * attempts run in the async context of its own acquire call, whatever
 * woke the queue (a notification, a timer, another caller's release).
 */

/**
 * One resource's queue (see the state machine above).
 *
 * @internal
 */
export interface ResourceQueue {
  /** The queues this one belongs to (a lease's release wakes them). */
  readonly queues: ResourceQueues;
  readonly key: string;
  readonly resource: string;
  /** Local callers waiting, in order; only the head's attempts are sent. */
  readonly waiters: Waiter[];
  /** An acquire of this resource is in flight (ATTEMPTING). */
  attempting: boolean;
  /** The resource may have been freed during that attempt: if refused, retry at once. */
  kickPending: boolean;
  /** Live leases of this lock on the resource (HELD while > 0 and nobody waits). */
  localHolders: number;
  /** The fallback poll (WAITING). */
  poll: TimerHandle | undefined;
  /** Release notifications (WAITING; ended once nobody waits). */
  subscription: Promise<Subscription> | undefined;
}

interface Waiter {
  readonly token: string;
  readonly ttlMs: number;
  readonly startedMono: number;
  /**
   * The async context of the waiting acquire call. The queue's attempts run
   * from whatever woke it (a release notification, a poll timer, another
   * waiter's grant); an attempt made for this waiter runs in this context.
   */
  readonly context: ContextRunner;
  done: boolean;
  resolve(lease: Lease): void;
  /** Rejects the waiter and removes it from its queue. */
  giveUp(err: unknown): void;
  cleanup(): void;
}

/**
 * How the queues turn a confirmed grant into a lease (emitting `acquired`),
 * and give one back: the lock's leases, in lease-deadline.ts.
 *
 * @internal
 */
export interface LeaseGranter {
  grant(
    q: ResourceQueue,
    token: string,
    ttlMs: number,
    fencingToken: number,
    startedMono: number,
    validityMs: number,
  ): Lease;
  release(lease: Lease): Promise<boolean>;
}

/**
 * What the queues need from their lock.
 *
 * @internal
 */
export interface ResourceQueueOptions {
  readonly calls: LockCalls;
  readonly leases: LeaseGranter;
  readonly clock: Clock;
  readonly report: ReportFailure;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

/**
 * The wait queues of one lock or semaphore, one per resource in use.
 *
 * @internal
 */
export class ResourceQueues {
  readonly #calls: LockCalls;
  readonly #leases: LeaseGranter;
  readonly #options: ResourceQueueOptions;
  readonly #limit: number;
  readonly #clock: Clock;
  readonly #queues = new Map<string, ResourceQueue>();
  /**
   * The context the lock was made in. Work shared by every caller (release
   * subscriptions, poll timers) starts in it, never in the context of the
   * request that happened to start it first (which it would also keep alive).
   */
  readonly #background = captureContext();
  #closed = false;

  constructor(options: ResourceQueueOptions) {
    this.#calls = options.calls;
    this.#leases = options.leases;
    this.#options = options;
    this.#limit = options.calls.limit;
    this.#clock = options.clock;
  }

  #queue(resource: string): ResourceQueue {
    let q = this.#queues.get(resource);
    if (q === undefined) {
      q = {
        queues: this,
        key: resource,
        resource,
        waiters: [],
        attempting: false,
        kickPending: false,
        localHolders: 0,
        poll: undefined,
        subscription: undefined,
      };
      this.#queues.set(resource, q);
    }
    return q;
  }

  /** Drops the subscription and poll of a queue nobody waits in, and the queue once no local lease counts on it. */
  dropIfIdle(q: ResourceQueue): void {
    if (q.waiters.length > 0 || q.attempting) return;
    q.poll?.cancel();
    q.poll = undefined;
    this.#unsubscribe(q);
    if (q.localHolders === 0 && this.#queues.get(q.key) === q) this.#queues.delete(q.key);
  }

  #unsubscribe(q: ResourceQueue): void {
    const subscription = q.subscription;
    if (subscription === undefined) return;
    q.subscription = undefined;
    subscription.then(
      async (s) => {
        try {
          await s.unsubscribe();
        } catch (error) {
          this.#options.report(q.resource, 'unsubscribe', error);
        }
      },
      () => {}, // subscribing failed: reported when it did, nothing to end
    );
  }

  /** One attempt, no waiting: a lease or null. */
  async tryAcquire(resource: string, ttl: number): Promise<Lease | null> {
    const q = this.#queue(resource);
    const token = this.#calls.newToken();
    const started = this.#clock.monotonic();
    let result: LockAcquireResult;
    try {
      result = await this.#calls.acquire(resource, token, ttl);
    } finally {
      this.dropIfIdle(q);
    }
    if (!result.acquired) return null;
    return this.#leases.grant(q, token, ttl, result.fencingToken, started, result.validityMs);
  }

  /** Acquires, waiting up to `waitMs` (> 0). */
  acquire(resource: string, ttl: number, waitMs: number, signal: AbortSignal | undefined): Promise<Lease> {
    const q = this.#queues.get(resource);
    if (q === undefined || (q.waiters.length === 0 && !q.attempting)) {
      return this.#acquireFirst(resource, ttl, waitMs, signal);
    }
    return this.#enqueue(resource, ttl, waitMs, signal, false, undefined);
  }

  /** Nobody waits here: one direct attempt, and only on refusal join the queue. */
  async #acquireFirst(
    resource: string,
    ttlMs: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Lease> {
    const q = this.#queue(resource);
    const token = this.#calls.newToken();
    const started = this.#clock.monotonic();
    let result: LockAcquireResult;
    // Callers arriving meanwhile queue up behind this attempt instead of
    // sending their own (no burst of doomed attempts on a busy resource).
    q.attempting = true;
    q.kickPending = false;
    try {
      result = await this.#calls.acquire(resource, token, ttlMs);
    } catch (err) {
      q.attempting = false;
      this.#pump(q);
      throw err;
    }
    q.attempting = false;
    if (result.acquired) {
      const lease = this.#leases.grant(q, token, ttlMs, result.fencingToken, started, result.validityMs);
      if (this.#limit > 1) this.#pump(q);
      else if (q.waiters.length > 0) this.#wait(q, result.validityMs);
      return lease;
    }
    const left = Math.floor(waitMs - (this.#clock.monotonic() - started));
    if (signal?.aborted) {
      this.dropIfIdle(q);
      throw abortedError(signal);
    }
    if (left <= 0) {
      this.dropIfIdle(q);
      throw new LockNotAcquiredError(`could not acquire the resource within ${waitMs} ms`, {
        resource,
        waitedMs: waitMs,
      });
    }
    return this.#enqueue(resource, ttlMs, left, signal, true, result.retryAfterMs);
  }

  #enqueue(
    resource: string,
    ttlMs: number,
    waitMs: number,
    signal: AbortSignal | undefined,
    refused: boolean,
    retryAfterMs: number | undefined,
  ): Promise<Lease> {
    const q = this.#queue(resource);
    const startedMono = this.#clock.monotonic();
    return new Promise<Lease>((resolve, reject) => {
      let deadline: TimerHandle | undefined;
      const onAbort = () => giveUp(abortedError(signal!));
      const waiter: Waiter = {
        token: this.#calls.newToken(),
        ttlMs,
        startedMono,
        context: captureContext(),
        done: false,
        resolve,
        giveUp: (err: unknown) => giveUp(err),
        cleanup: () => {
          deadline?.cancel();
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const giveUp = (err: unknown) => {
        if (waiter.done) return;
        waiter.done = true;
        waiter.cleanup();
        const i = q.waiters.indexOf(waiter);
        if (i >= 0) q.waiters.splice(i, 1);
        reject(err);
        this.dropIfIdle(q);
      };
      deadline = longTimeout(() => {
        giveUp(
          new LockNotAcquiredError(`could not acquire the resource within ${waitMs} ms`, {
            resource,
            waitedMs: Math.round(this.#clock.monotonic() - startedMono),
          }),
        );
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      // A caller refused on its direct attempt came before everyone queued meanwhile.
      if (refused) q.waiters.unshift(waiter);
      else q.waiters.push(waiter);
      // Just refused: wait for a release (or a poll) rather than ask again at once.
      if (refused && !q.attempting && !q.kickPending) this.#wait(q, retryAfterMs);
      else this.#pump(q);
    });
  }

  /** Something may have freed the resource: attempt for the head now, or right after the attempt in flight. */
  kick(q: ResourceQueue): void {
    if (q.attempting) {
      q.kickPending = true;
      return;
    }
    this.#pump(q);
  }

  #pump(q: ResourceQueue): void {
    if (q.attempting || this.#closed) return;
    while (q.waiters.length > 0 && q.waiters[0]!.done) q.waiters.shift();
    const w = q.waiters[0];
    if (w === undefined) {
      this.dropIfIdle(q);
      return;
    }
    q.poll?.cancel();
    q.poll = undefined;
    q.attempting = true;
    q.kickPending = false;
    const started = this.#clock.monotonic();
    w.context(() => this.#attemptFor(q, w, started));
  }

  /** One attempt for the head waiter `w` (in its context), then what follows from the answer. */
  #attemptFor(q: ResourceQueue, w: Waiter, started: number): void {
    this.#calls.acquire(q.resource, w.token, w.ttlMs).then(
      (result) => {
        q.attempting = false;
        if (result.acquired) {
          const lease = this.#leases.grant(
            q,
            w.token,
            w.ttlMs,
            result.fencingToken,
            started,
            result.validityMs,
          );
          if (w.done) {
            // The waiter gave up while the grant was on its way: give it back.
            this.#leases
              .release(lease)
              .catch((error: unknown) => this.#options.report(q.resource, 'release', error));
          } else {
            w.done = true;
            w.cleanup();
            const i = q.waiters.indexOf(w);
            if (i >= 0) q.waiters.splice(i, 1);
            w.resolve(lease);
          }
          if (this.#limit > 1) this.#pump(q);
          else this.#wait(q, result.validityMs);
          return;
        }
        if (q.kickPending) {
          this.#pump(q);
          return;
        }
        this.#wait(q, result.retryAfterMs);
      },
      (error: unknown) => {
        q.attempting = false;
        // Fail closed: the head waiter gets the error; the next one tries on its own.
        w.giveUp(error);
        this.#pump(q);
      },
    );
  }

  /** Waits for a release notification, or polls after a jittered, bounded delay. */
  #wait(q: ResourceQueue, retryAfterMs: number | undefined): void {
    if (q.waiters.length === 0) {
      this.dropIfIdle(q);
      return;
    }
    if (q.subscription === undefined) {
      const onRelease = () => {
        // While one of our own leases holds a lock, its release kicks us.
        if (this.#limit === 1 && q.localHolders > 0) return;
        this.kick(q);
      };
      const subscription = this.#background(() => this.#calls.onRelease(q.resource, onRelease));
      q.subscription = subscription;
      // A release between our failed attempt and the subscription would be
      // missed: try once more as soon as notifications flow (or, if
      // subscribing failed, keep to polling, and say so).
      subscription.then(
        () => {
          if (q.subscription !== undefined) this.kick(q);
        },
        (error: unknown) => {
          this.#options.report(q.resource, 'subscribe', error);
          if (q.subscription !== undefined) this.kick(q);
        },
      );
    }
    const { retryMinMs, retryMaxMs } = this.#options;
    const base = Math.min(retryMaxMs, Math.max(retryMinMs, retryAfterMs ?? retryMaxMs));
    const delay = base * (0.8 + 0.4 * Math.random());
    q.poll?.cancel();
    q.poll = this.#background(() =>
      unrefTimeout(() => {
        q.poll = undefined;
        this.#pump(q);
      }, delay),
    );
  }

  /** Rejects every waiter with `ClosedError`, stops polls and subscriptions; attempts stop. */
  close(): void {
    this.#closed = true;
    for (const q of this.#queues.values()) {
      for (const w of [...q.waiters]) {
        w.giveUp(new ClosedError('lock was closed while waiting'));
      }
      q.poll?.cancel();
      this.#unsubscribe(q);
    }
    this.#queues.clear();
  }
}
