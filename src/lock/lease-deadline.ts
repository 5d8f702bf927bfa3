import type { LockExtendResult } from '../contracts/lock.js';
import {
  AbortedError,
  ClosedError,
  InvalidArgumentError,
  LeaseExpiredError,
  LockLostError,
} from '../errors.js';
import type { TypedEmitter } from '../internal/events.js';
import { unrefTimeout } from '../internal/timers.js';
import type { Clock } from '../types.js';
import { driftMarginMs } from './distributed-lock-options.js';
import type { Lease } from './lease.js';
import { LeaseHandle, type LeaseOwner, type LeaseState } from './lease-handle.js';
import type { LockCalls } from './lock-calls.js';
import type { LockEvents, ReportFailure } from './lock-events.js';
import type { ResourceQueue } from './resource-queue.js';

/*
 * The life of a granted lease: its deadline, the extend that moves it, the
 * watchdog that extends, and the release that ends it.
 *
 * A hold is valid on the server until `expiryMono`: the validity the store
 * confirmed, counted from when the acquire (or extend) was *sent*, so a
 * slow answer only shortens it. Locally a lease ends earlier, at
 * `deadlineMono` = `expiryMono` minus the drift margin (`ttlMs *
 * driftFactor`, rounded up, + 2 ms), so that the holder stops before the
 * store can grant the resource to anyone else, even if this process's
 * clock runs a little slower than the server's.
 *
 * The states of a lease (a LeaseState) and what moves it:
 *
 *   grant ─> LIVE, UNWATCHED ──watch()──> LIVE, WATCHED ──deadline timer──> EXPIRED
 *              │                            │   ↺ extend confirmed: new deadline, timer re-armed
 *              │ used past its deadline     ├── extend refused or failed ──> LOST
 *              ├──────────────────> EXPIRED ├── release() ──> RELEASED
 *              ├── extend refused / failed ─> LOST
 *              ├── release() ──> RELEASED   └── lock closed ──> LOST
 *              └── lock closed ──> LOST
 *
 * - LIVE, UNWATCHED (`reason` undefined, no timer). Nobody can observe the
 *   deadline yet (no one read `lease.signal`, no watchdog runs, no `lost`
 *   listener), so no timer is armed: an uncontended acquire + release
 *   costs no Node timer at all. A deadline that passed meanwhile is
 *   noticed when the lease is next used (`checkDeadline`, in release and
 *   extend), which moves it to EXPIRED first.
 * - LIVE, WATCHED (`watched`, `timer` armed for `deadlineMono`). Entered on
 *   the first read of `lease.signal`, when a watchdog starts, or at the
 *   grant when someone listens to `lost`; it never goes back to unwatched.
 *   A confirmed extend moves both times and re-arms the timer.
 * - Ended: `reason` is set, the signal (if made) aborts with it, both
 *   timers are cancelled, and the lease stops counting among its queue's
 *   local holders (so local waiters stop deferring to it). Ended is final:
 *   a later `lose` changes nothing, extend answers false.
 *   - EXPIRED: `LeaseExpiredError`, the deadline passed without an extend.
 *   - LOST: `LockLostError` when an extend is refused (the store no longer
 *     holds it for us) or fails (the store did not answer: fail closed, the
 *     holder must assume the worst); `ClosedError` when the lock is closed
 *     and so no longer watches its leases.
 *   - RELEASED: the shared `RELEASED` reason; `released` is true.
 *   EXPIRED and LOST emit `lost`. `release()` still works from either: it
 *   sets `released` and gives the hold back (answering false if the store
 *   no longer had it), because a hold must not outlive its holder's intent.
 *
 * The watchdog (withLock's `autoExtend`) extends the lease every third of
 * its TTL while it is live. Its first failure ends the lease (LOST, via
 * extend) and is reported through the `error` event, never thrown: nobody
 * awaits the watchdog.
 */

/** The signal reason of a released lease: one shared instance, so release costs no stack capture. */
const RELEASED = new AbortedError('lease released');

/**
 * What {@link LeaseDeadlines} needs from its lock.
 *
 * @internal
 */
export interface LeaseDeadlineOptions {
  readonly calls: LockCalls;
  readonly clock: Clock;
  readonly driftFactor: number;
  readonly events: TypedEmitter<LockEvents>;
  readonly report: ReportFailure;
  /** Checks a lease TTL (`InvalidArgumentError`); returns it. */
  readonly ttl: (ttlMs: number) => number;
  /** Throws `ClosedError` once the lock is closed. */
  readonly assertOpen: () => void;
}

/**
 * The leases one lock (or semaphore) has granted: their deadlines,
 * signals, extend, release and watchdogs (see the state machine above).
 *
 * @internal
 */
export class LeaseDeadlines implements LeaseOwner {
  readonly clock: Clock;
  readonly #calls: LockCalls;
  readonly #options: LeaseDeadlineOptions;
  readonly #driftFactor: number;
  readonly #events: TypedEmitter<LockEvents>;
  readonly #active = new Set<LeaseState>();

  constructor(options: LeaseDeadlineOptions) {
    this.clock = options.clock;
    this.#calls = options.calls;
    this.#options = options;
    this.#driftFactor = options.driftFactor;
    this.#events = options.events;
  }

  /**
   * A new live lease on a hold the store confirmed for `validityMs` from
   * `startedMono` (when the acquire was sent); emits `acquired`.
   */
  grant(
    q: ResourceQueue,
    token: string,
    ttlMs: number,
    fencingToken: number,
    startedMono: number,
    validityMs: number,
  ): Lease {
    const state: LeaseState = {
      owner: this,
      resource: q.resource,
      fencingToken,
      token,
      ttlMs,
      queue: q,
      controller: undefined,
      reason: undefined,
      watched: false,
      deadlineMono: 0,
      expiryMono: 0,
      expiresAt: undefined,
      released: false,
      counted: true,
      timer: undefined,
      watchdog: undefined,
    };
    q.localHolders += 1;
    this.#active.add(state);
    this.schedule(state, startedMono, validityMs);
    const lease = new LeaseHandle(state);
    if (this.#events.has('acquired')) {
      this.#events.emit('acquired', {
        resource: q.resource,
        fencingToken,
        waitedMs: Math.max(0, this.clock.monotonic() - startedMono),
      });
    }
    return lease;
  }

  /** The state of a lease this lock issued; `InvalidArgumentError` for any other value. */
  stateOf(lease: Lease): LeaseState {
    const state = LeaseHandle.stateOf(lease);
    if (state === undefined || state.owner !== this) {
      throw new InvalidArgumentError('lease was not issued by this lock', { argument: 'lease' });
    }
    return state;
  }

  /**
   * Sets the lease's deadline from a confirmed validity, measured from when
   * the request was sent. The deadline timer is armed only once someone
   * watches the lease (reads its signal, runs a watchdog, or listens to
   * `lost`); otherwise the deadline is checked when the lease is next used.
   */
  schedule(state: LeaseState, startedMono: number, validityMs: number): void {
    state.timer?.cancel();
    state.timer = undefined;
    const margin = driftMarginMs(state.ttlMs, this.#driftFactor);
    state.deadlineMono = startedMono + validityMs - margin;
    state.expiryMono = startedMono + validityMs;
    state.expiresAt = undefined;
    if (state.watched || this.#events.has('lost')) this.#arm(state);
  }

  /** Starts watching a lease: from now on its signal fires at the deadline. */
  watch(state: LeaseState): void {
    state.watched = true;
    if (state.reason !== undefined || state.timer !== undefined) return;
    if (this.clock.monotonic() >= state.deadlineMono) this.#expire(state);
    else this.#arm(state);
  }

  #arm(state: LeaseState): void {
    state.timer?.cancel();
    // unrefTimeout waits the whole of it, also past node's timer range (~24.8 days).
    state.timer = unrefTimeout(() => this.#expire(state), state.deadlineMono - this.clock.monotonic());
  }

  #expire(state: LeaseState): void {
    this.lose(
      state,
      new LeaseExpiredError('lease reached its deadline without being extended', {
        resource: state.resource,
      }),
    );
  }

  /** For unwatched leases: notices a deadline that passed. */
  checkDeadline(state: LeaseState): void {
    if (state.reason === undefined && this.clock.monotonic() >= state.deadlineMono) this.#expire(state);
  }

  /** Marks the lease lost: aborts its signal with `reason`, stops its timers. */
  lose(state: LeaseState, reason: Error): void {
    state.timer?.cancel();
    state.watchdog?.cancel();
    state.timer = undefined;
    state.watchdog = undefined;
    if (state.reason === undefined) {
      state.reason = reason;
      state.controller?.abort(reason);
      if (this.#events.has('lost')) {
        this.#events.emit('lost', { resource: state.resource, fencingToken: state.fencingToken, reason });
      }
    }
    this.#uncount(state);
  }

  #uncount(state: LeaseState): void {
    if (!state.counted) return;
    state.counted = false;
    state.queue.localHolders = Math.max(0, state.queue.localHolders - 1);
  }

  /**
   * Extends a lease; see {@link Lease.extend}. A confirmed extend moves the
   * deadline; a refused one ends the lease (LOST) and answers false; a
   * failed one ends it too (fail closed) and rethrows.
   */
  async extend(lease: Lease, ttlMs?: number): Promise<boolean> {
    const state = this.stateOf(lease);
    const ttl = this.#options.ttl(ttlMs ?? state.ttlMs);
    this.checkDeadline(state);
    if (state.released || state.reason !== undefined) return false;
    this.#options.assertOpen();
    const started = this.clock.monotonic();
    let result: LockExtendResult;
    try {
      result = await this.#calls.extend(state.resource, state.token, ttl);
    } catch (err) {
      this.lose(
        state,
        new LockLostError('could not extend the lease: the store did not answer', {
          resource: state.resource,
          cause: err,
        }),
      );
      throw err;
    }
    if (state.released || state.reason !== undefined) return false;
    if (!result.extended) {
      this.lose(
        state,
        new LockLostError('lease was lost: the store no longer holds it for us', {
          resource: state.resource,
        }),
      );
      return false;
    }
    (state as { ttlMs: number }).ttlMs = ttl;
    this.schedule(state, started, result.validityMs);
    return true;
  }

  /**
   * Releases a lease; see {@link Lease.release}. RELEASED at once (even
   * after close: a hold must not outlive its holder's intent; the adapter
   * rejects with `ClosedError` if it was closed too), then the hold is given
   * back and the next local waiter woken.
   */
  async release(lease: Lease): Promise<boolean> {
    const state = this.stateOf(lease);
    if (state.released) return false;
    this.checkDeadline(state);
    this.#end(state);
    const q = state.queue;
    // Sent before the next local waiter's acquire on the same connection, so
    // the hand-off needs no notification round trip.
    const pending = this.#calls.release(state.resource, state.token);
    q.queues.kick(q);
    let owned: boolean;
    try {
      owned = await pending;
    } finally {
      q.queues.dropIfIdle(q);
    }
    if (this.#events.has('released')) {
      this.#events.emit('released', { resource: state.resource, fencingToken: lease.fencingToken, owned });
    }
    return owned;
  }

  /** The local part of a release: RELEASED, timers stopped, no longer counted or watched. */
  #end(state: LeaseState): void {
    state.released = true;
    this.#active.delete(state);
    state.timer?.cancel();
    state.watchdog?.cancel();
    if (state.reason === undefined) {
      state.reason = RELEASED;
      state.controller?.abort(RELEASED);
    }
    this.#uncount(state);
  }

  /** Extends `lease` every third of its TTL while it is live (withLock's `autoExtend`). */
  startWatchdog(lease: Lease): void {
    const state = LeaseHandle.stateOf(lease);
    if (state === undefined) return;
    this.watch(state);
    const tick = () => {
      state.watchdog = undefined;
      if (state.released || state.reason !== undefined) return;
      this.extend(lease).then(
        (ok) => {
          if (ok && !state.released && state.reason === undefined) {
            state.watchdog = unrefTimeout(tick, Math.max(1, Math.floor(state.ttlMs / 3)));
          }
        },
        (error: unknown) => {
          this.#options.report(state.resource, 'extend', error);
        },
      );
    };
    state.watchdog = unrefTimeout(tick, Math.max(1, Math.floor(state.ttlMs / 3)));
  }

  /** On close: every live lease is LOST (`ClosedError`): nothing watches it any more. */
  loseAll(): void {
    for (const state of this.#active) {
      this.lose(state, new ClosedError('lock was closed; the lease is no longer watched'));
    }
    this.#active.clear();
  }
}
