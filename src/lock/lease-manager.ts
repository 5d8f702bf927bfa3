import { randomBytes } from 'node:crypto';
import { MemoryLockAdapter } from '../adapters/memory/memory-lock-adapter.js';
import type { LockAdapter, LockReleaseSubscription } from '../contracts/lock.js';
import {
  AbortedError,
  ClosedError,
  InvalidArgumentError,
  LeaseExpiredError,
  LockLostError,
  LockNotAcquiredError,
  TimeoutError,
} from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { type ContextRunner, captureContext } from '../internal/async-context.js';
import { TypedEmitter } from '../internal/events.js';
import { type TimerHandle, unrefInterval, unrefTimeout } from '../internal/timers.js';
import { durationArgument, keyArgument } from '../internal/validate.js';
import type { Clock, Logger } from '../types.js';
import { noopLogger, systemClock } from '../types.js';
import {
  type DistributedLockOptions,
  driftMarginMs,
  type ResolvedLockOptions,
  resolveLockOptions,
} from './distributed-lock-options.js';
import type { Lease } from './lease.js';

/**
 * Options of one acquire call.
 *
 * @example
 * ```ts
 * const lease = await locks.acquire('invoice:7', { ttlMs: 5_000, waitMs: 1_000, signal: request.signal });
 * ```
 */
export interface AcquireOptions {
  /** Time to live of the lease, in ms. @default the lock's `ttlMs` */
  ttlMs?: number;
  /** How long to wait for a busy resource, in ms; 0 fails at once. @default the lock's `waitMs` */
  waitMs?: number;
  /** Stops waiting (rejects with `AbortedError`). Does not affect a lease already granted. */
  signal?: AbortSignal;
}

/**
 * Options of `withLock`.
 *
 * @example
 * ```ts
 * await locks.withLock('nightly-report', (lease) => build({ signal: lease.signal }), { ttlMs: 30_000, autoExtend: true });
 * ```
 */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Keep the lease alive while `fn` runs: extend it by `ttlMs` every third
   * of the TTL. If an extend fails, the lease's signal aborts (and `fn`
   * should stop). @default false
   */
  autoExtend?: boolean;
}

/**
 * Events of a lock or semaphore.
 *
 * @example
 * ```ts
 * locks.on('error', ({ resource, operation }) => log.warn('lock background failure', { resource, operation }));
 * ```
 */
export interface LockEvents extends Record<string, unknown> {
  /** A lease was granted. */
  acquired: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** How long the caller waited, ms. */
    waitedMs: number;
  };
  /** A lease was released by its holder (`owned`: whether we still held it). */
  released: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** Whether the hold was still ours when released. */
    owned: boolean;
  };
  /** A lease's signal fired before release: deadline reached, extend refused, or extend failed. */
  lost: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** Why: the signal's abort reason. */
    reason: unknown;
  };
  /** A background operation failed (a release after an abandoned wait, a release in `withLock`, a watchdog extend). */
  error: {
    /** The resource involved. */
    resource: string;
    /** What failed: `release`, `extend`... */
    operation: string;
    /** The error. */
    error: unknown;
  };
}

/** The signal reason of a released lease: one shared instance, so release costs no stack capture. */
const RELEASED = new AbortedError('lease released');

interface InFlight {
  /** The sweep tick at which the call started. */
  readonly tick: number;
  /** Its place in the in-flight array; -1 once it settled or timed out. */
  index: number;
  readonly what: string;
  readonly source: Promise<unknown>;
  readonly reject: (err: unknown) => void;
}

/** @internal */
export interface LeaseState {
  readonly manager: LeaseManager;
  readonly resource: string;
  readonly fencingToken: number;
  readonly token: string;
  readonly ttlMs: number;
  readonly queue: ResourceQueue;
  /** Created on first access of `lease.signal`. */
  controller: AbortController | undefined;
  /** Why the lease ended (released, expired, lost); undefined while it is live. */
  reason: unknown;
  /** Whether the deadline timer must run (signal read, watchdog, `lost` listeners). */
  watched: boolean;
  deadlineMono: number;
  /** Monotonic time of the server-side expiry as far as we know. */
  expiryMono: number;
  /** Wall-clock form of `expiryMono`, computed on first read. */
  expiresAt: number | undefined;
  released: boolean;
  /** Whether the lease still counts in its queue's `localHolders`. */
  counted: boolean;
  timer: TimerHandle | undefined;
  watchdog: TimerHandle | undefined;
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

interface ResourceQueue {
  readonly key: string;
  readonly resource: string;
  readonly waiters: Waiter[];
  attempting: boolean;
  kickPending: boolean;
  localHolders: number;
  poll: TimerHandle | undefined;
  subscription: LockReleaseSubscription | undefined;
}

/** The lease object handed to callers; its state is reachable only from this module. */
class LeaseHandle implements Lease {
  readonly #state: LeaseState;
  readonly resource: string;
  readonly fencingToken: number;

  constructor(state: LeaseState) {
    this.#state = state;
    this.resource = state.resource;
    this.fencingToken = state.fencingToken;
  }

  static stateOf(value: unknown): LeaseState | undefined {
    return typeof value === 'object' && value !== null && #state in value
      ? (value as LeaseHandle).#state
      : undefined;
  }

  get expiresAt(): number {
    const state = this.#state;
    if (state.expiresAt === undefined) {
      const clock = state.manager.clock;
      state.expiresAt = Math.round(clock.now() + (state.expiryMono - clock.monotonic()));
    }
    return state.expiresAt;
  }

  get released(): boolean {
    return this.#state.released;
  }

  get signal(): AbortSignal {
    const state = this.#state;
    if (state.controller === undefined) {
      state.controller = new AbortController();
      if (state.reason !== undefined) state.controller.abort(state.reason);
      else state.manager.watch(state);
    }
    return state.controller.signal;
  }

  extend(ttlMs?: number): Promise<boolean> {
    return this.#state.manager.extend(this, ttlMs);
  }

  release(): Promise<boolean> {
    return this.#state.manager.release(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#state.manager.release(this);
  }
}

/**
 * The engine shared by `DistributedLock` (limit 1) and
 * `DistributedSemaphore` (limit N): leases with signals and watchdogs, and
 * one wait queue per resource in this process, so that only the head
 * waiter talks to the store while the others wait locally.
 *
 * @internal
 */
export class LeaseManager {
  readonly #adapter: LockAdapter;
  readonly #ownsAdapter: boolean;
  readonly #limit: number;
  readonly #options: ResolvedLockOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #queues = new Map<string, ResourceQueue>();
  readonly #active = new Set<LeaseState>();
  readonly events: TypedEmitter<LockEvents>;
  /** Owner tokens are this random prefix plus a counter: unique, and cheaper than random bytes per call. */
  readonly #tokenPrefix = `${randomBytes(12).toString('base64url')}.`;
  #tokenSeq = 0;
  /** Calls in flight, unordered: a call is swapped out as soon as it settles. */
  readonly #inFlight: InFlight[] = [];
  #sweeper: TimerHandle | undefined;
  /** Sweep counter: call timeouts are measured in sweeps, so no clock read per call. */
  #tick = 0;
  readonly #sweepMs: number;
  /**
   * The context the lock was made in. Work shared by every caller (the
   * sweeper, release subscriptions, poll timers) starts in it, never in the
   * context of the request that happened to start it first (which it would
   * also keep alive).
   */
  readonly #background = captureContext();
  readonly #sweepNow = () => this.#sweep();
  #closed = false;

  constructor(options: DistributedLockOptions, limit: number) {
    this.#options = resolveLockOptions(options);
    this.#limit = limit;
    this.#adapter = options.adapter ?? new MemoryLockAdapter({ clock: options.clock ?? systemClock });
    this.#ownsAdapter = options.adapter === undefined;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? noopLogger;
    this.events = new TypedEmitter<LockEvents>(this.#logger);
    this.#sweepMs = Math.max(5, Math.min(250, Math.floor(this.#options.operationTimeoutMs / 10)));
  }

  get adapter(): LockAdapter {
    return this.#adapter;
  }

  get clock(): Clock {
    return this.#clock;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('lock is closed');
  }

  #newToken(): string {
    this.#tokenSeq += 1;
    return this.#tokenPrefix + this.#tokenSeq.toString(36);
  }

  #ttl(ttlMs: number | undefined): number {
    const ttl = durationArgument('ttlMs', ttlMs ?? this.#options.ttlMs);
    if (driftMarginMs(ttl, this.#options.driftFactor) >= ttl) {
      throw new InvalidArgumentError('ttlMs is shorter than its drift margin', { argument: 'ttlMs' });
    }
    return ttl;
  }

  #queue(resource: string): ResourceQueue {
    let q = this.#queues.get(resource);
    if (q === undefined) {
      q = {
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

  #maybeDropQueue(q: ResourceQueue): void {
    if (q.waiters.length > 0 || q.attempting) return;
    q.poll?.cancel();
    q.poll = undefined;
    q.subscription?.unsubscribe();
    q.subscription = undefined;
    if (q.localHolders === 0 && this.#queues.get(q.key) === q) this.#queues.delete(q.key);
  }

  /**
   * Bounds an adapter call by `operationTimeoutMs`. One shared, unref'd
   * sweep timer (every tenth of the limit, at most 250 ms) checks the calls
   * in flight, instead of a timer per call; it stops once nothing is in
   * flight. A call leaves the in-flight array as soon as it settles (swap
   * with the last entry), so settled calls are never retained until a
   * sweep: at thousands of calls per second they would outlive the young
   * generation and make garbage collection expensive. A call that times
   * out rejects with `TimeoutError`; its late outcome is ignored.
   */
  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    const inFlight = this.#inFlight;
    let entry!: InFlight;
    const wrapped = new Promise<T>((resolve, reject) => {
      entry = { tick: this.#tick, index: inFlight.length, what, source: promise, reject };
      promise.then(
        (value) => {
          if (this.#settle(entry)) resolve(value);
        },
        (err: unknown) => {
          if (this.#settle(entry)) reject(err);
        },
      );
    });
    inFlight.push(entry);
    if (this.#sweeper === undefined) {
      // #sweepNow, not a closure made here: that would share this call's
      // scope (its promises, and so its async context) for the sweeper's life.
      this.#sweeper = this.#background(() => unrefInterval(this.#sweepNow, this.#sweepMs));
    }
    return wrapped;
  }

  /** Takes a call out of the in-flight array; false if it already left (timed out). */
  #settle(entry: InFlight): boolean {
    const i = entry.index;
    if (i < 0) return false;
    entry.index = -1;
    const inFlight = this.#inFlight;
    const last = inFlight.pop()!;
    if (last !== entry) {
      inFlight[i] = last;
      last.index = i;
    }
    return true;
  }

  #sweep(): void {
    this.#tick += 1;
    const inFlight = this.#inFlight;
    if (inFlight.length === 0) {
      this.#sweeper?.cancel();
      this.#sweeper = undefined;
      return;
    }
    // A call started during tick t has run at least (now - t - 1) full sweep periods.
    const ticks = Math.ceil(this.#options.operationTimeoutMs / this.#sweepMs) + 1;
    const failed = inFlight.filter((entry) => this.#tick - entry.tick >= ticks);
    const timeoutMs = this.#options.operationTimeoutMs;
    for (const entry of failed) {
      this.#settle(entry);
      entry.source.catch(() => {});
      entry.reject(new TimeoutError(`lock ${entry.what} timed out after ${timeoutMs} ms`, { timeoutMs }));
    }
  }

  // ---- leases ----------------------------------------------------------

  #makeLease(
    q: ResourceQueue,
    token: string,
    ttlMs: number,
    fencingToken: number,
    startedMono: number,
    validityMs: number,
  ): Lease {
    const state: LeaseState = {
      manager: this,
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
    this.#schedule(state, startedMono, validityMs);
    return new LeaseHandle(state);
  }

  /**
   * Sets the lease's deadline from a confirmed validity, measured from when
   * the request was sent. The deadline timer is armed only once someone
   * watches the lease (reads its signal, runs a watchdog, or listens to
   * `lost`); otherwise the deadline is checked when the lease is next used.
   */
  #schedule(state: LeaseState, startedMono: number, validityMs: number): void {
    state.timer?.cancel();
    state.timer = undefined;
    const margin = driftMarginMs(state.ttlMs, this.#options.driftFactor);
    state.deadlineMono = startedMono + validityMs - margin;
    state.expiryMono = startedMono + validityMs;
    state.expiresAt = undefined;
    if (state.watched || this.events.has('lost')) this.#arm(state);
  }

  /** Starts watching a lease: from now on its signal fires at the deadline. */
  watch(state: LeaseState): void {
    state.watched = true;
    if (state.reason !== undefined || state.timer !== undefined) return;
    if (this.#clock.monotonic() >= state.deadlineMono) this.#expire(state);
    else this.#arm(state);
  }

  #arm(state: LeaseState): void {
    state.timer?.cancel();
    state.timer = unrefTimeout(() => this.#expire(state), state.deadlineMono - this.#clock.monotonic());
  }

  #expire(state: LeaseState): void {
    this.#lose(
      state,
      new LeaseExpiredError('lease reached its deadline without being extended', {
        resource: state.resource,
      }),
    );
  }

  /** For unwatched leases: notices a deadline that passed. */
  #checkDeadline(state: LeaseState): void {
    if (state.reason === undefined && this.#clock.monotonic() >= state.deadlineMono) this.#expire(state);
  }

  /** Marks the lease lost: aborts its signal with `reason`, stops its timers. */
  #lose(state: LeaseState, reason: Error): void {
    state.timer?.cancel();
    state.watchdog?.cancel();
    state.timer = undefined;
    state.watchdog = undefined;
    if (state.reason === undefined) {
      state.reason = reason;
      state.controller?.abort(reason);
      if (this.events.has('lost')) {
        this.events.emit('lost', { resource: state.resource, fencingToken: state.fencingToken, reason });
      }
    }
    this.#uncount(state);
  }

  #uncount(state: LeaseState): void {
    if (!state.counted) return;
    state.counted = false;
    state.queue.localHolders = Math.max(0, state.queue.localHolders - 1);
  }

  #stateOf(lease: Lease): LeaseState {
    const state = LeaseHandle.stateOf(lease);
    if (state === undefined || state.manager !== this) {
      throw new InvalidArgumentError('lease was not issued by this lock', { argument: 'lease' });
    }
    return state;
  }

  /** Releases a lease; see {@link Lease.release}. */
  async release(lease: Lease): Promise<boolean> {
    const state = this.#stateOf(lease);
    if (state.released) return false;
    this.#checkDeadline(state);
    state.released = true;
    this.#active.delete(state);
    state.timer?.cancel();
    state.watchdog?.cancel();
    if (state.reason === undefined) {
      state.reason = RELEASED;
      state.controller?.abort(RELEASED);
    }
    const q = state.queue;
    this.#uncount(state);
    // Even after close(): a hold must not outlive its holder's intent (the
    // adapter rejects with ClosedError if it was closed too).
    // Sent before the next local waiter's acquire on the same connection, so
    // the hand-off needs no notification round trip.
    const pending = this.#call(
      this.#adapter.release({ resource: state.resource, token: state.token, limit: this.#limit }),
      'release',
    );
    this.#kick(q);
    let owned: boolean;
    try {
      owned = await pending;
    } finally {
      this.#maybeDropQueue(q);
    }
    if (this.events.has('released')) {
      this.events.emit('released', { resource: state.resource, fencingToken: lease.fencingToken, owned });
    }
    return owned;
  }

  /** Extends a lease; see {@link Lease.extend}. */
  async extend(lease: Lease, ttlMs?: number): Promise<boolean> {
    const state = this.#stateOf(lease);
    const ttl = this.#ttl(ttlMs ?? state.ttlMs);
    this.#checkDeadline(state);
    if (state.released || state.reason !== undefined) return false;
    this.#checkOpen();
    const started = this.#clock.monotonic();
    let result: Awaited<ReturnType<LockAdapter['extend']>>;
    try {
      result = await this.#call(
        this.#adapter.extend({
          resource: state.resource,
          token: state.token,
          ttlMs: ttl,
          limit: this.#limit,
        }),
        'extend',
      );
    } catch (err) {
      this.#lose(
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
      this.#lose(
        state,
        new LockLostError('lease was lost: the store no longer holds it for us', {
          resource: state.resource,
        }),
      );
      return false;
    }
    (state as { ttlMs: number }).ttlMs = ttl;
    this.#schedule(state, started, result.validityMs);
    return true;
  }

  #startWatchdog(lease: Lease): void {
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
          this.#report(state.resource, 'extend', error);
        },
      );
    };
    state.watchdog = unrefTimeout(tick, Math.max(1, Math.floor(state.ttlMs / 3)));
  }

  #report(resource: string, operation: string, error: unknown): void {
    this.#logger.warn?.(`lock ${operation} failed`, { resource, error: String(error) });
    this.events.emit('error', { resource, operation, error });
  }

  // ---- acquiring -------------------------------------------------------

  /** One attempt, no waiting: a lease or null. */
  async tryAcquire(resource: string, options: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lease | null> {
    keyArgument('resource', resource);
    const ttl = this.#ttl(options.ttlMs);
    this.#checkOpen();
    if (options.signal?.aborted) throw abortedError(options.signal);
    const q = this.#queue(resource);
    const token = this.#newToken();
    const started = this.#clock.monotonic();
    let result: Awaited<ReturnType<LockAdapter['acquire']>>;
    try {
      result = await this.#attempt(resource, token, ttl);
    } finally {
      this.#maybeDropQueue(q);
    }
    if (!result.acquired) return null;
    return this.#granted(q, token, ttl, result.fencingToken, started, result.validityMs);
  }

  #granted(
    q: ResourceQueue,
    token: string,
    ttl: number,
    fencingToken: number,
    started: number,
    validityMs: number,
  ): Lease {
    const lease = this.#makeLease(q, token, ttl, fencingToken, started, validityMs);
    if (this.events.has('acquired')) {
      this.events.emit('acquired', {
        resource: q.resource,
        fencingToken,
        waitedMs: Math.max(0, this.#clock.monotonic() - started),
      });
    }
    return lease;
  }

  /** One adapter call; a timed-out call may still land, so its token is released in the background. */
  async #attempt(resource: string, token: string, ttlMs: number) {
    try {
      return await this.#call(
        this.#adapter.acquire({ resource, token, ttlMs, limit: this.#limit }),
        'acquire',
      );
    } catch (err) {
      if (err instanceof TimeoutError) this.#releaseToken(resource, token);
      throw err;
    }
  }

  #releaseToken(resource: string, token: string): void {
    this.#adapter.release({ resource, token, limit: this.#limit }).then(
      () => {},
      (error: unknown) => this.#report(resource, 'release', error),
    );
  }

  /** Acquires, waiting up to `waitMs`. */
  acquire(resource: string, options: AcquireOptions = {}): Promise<Lease> {
    try {
      keyArgument('resource', resource);
      const ttl = this.#ttl(options.ttlMs);
      const waitMs = durationArgument('waitMs', options.waitMs ?? this.#options.waitMs, 0);
      this.#checkOpen();
      const signal = options.signal;
      if (signal?.aborted) throw abortedError(signal);
      if (waitMs === 0) {
        return this.tryAcquire(resource, { ttlMs: ttl, signal }).then((lease) => {
          if (lease === null)
            throw new LockNotAcquiredError('resource is held by someone else', { resource, waitedMs: 0 });
          return lease;
        });
      }
      const q = this.#queues.get(resource);
      if (q === undefined || (q.waiters.length === 0 && !q.attempting)) {
        return this.#acquireFirst(resource, ttl, waitMs, signal);
      }
      return this.#enqueue(resource, ttl, waitMs, signal, false, undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Nobody waits here: one direct attempt, and only on refusal join the queue. */
  async #acquireFirst(
    resource: string,
    ttlMs: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Lease> {
    const q = this.#queue(resource);
    const token = this.#newToken();
    const started = this.#clock.monotonic();
    let result: Awaited<ReturnType<LockAdapter['acquire']>>;
    // Callers arriving meanwhile queue up behind this attempt instead of
    // sending their own (no burst of doomed attempts on a busy resource).
    q.attempting = true;
    q.kickPending = false;
    try {
      result = await this.#attempt(resource, token, ttlMs);
    } catch (err) {
      q.attempting = false;
      this.#pump(q);
      throw err;
    }
    q.attempting = false;
    if (result.acquired) {
      const lease = this.#granted(q, token, ttlMs, result.fencingToken, started, result.validityMs);
      if (this.#limit > 1) this.#pump(q);
      else if (q.waiters.length > 0) this.#wait(q, result.validityMs);
      return lease;
    }
    const left = Math.floor(waitMs - (this.#clock.monotonic() - started));
    if (signal?.aborted) {
      this.#maybeDropQueue(q);
      throw abortedError(signal);
    }
    if (left <= 0) {
      this.#maybeDropQueue(q);
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
      let deadline: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => giveUp(abortedError(signal!));
      const waiter: Waiter = {
        token: this.#newToken(),
        ttlMs,
        startedMono,
        context: captureContext(),
        done: false,
        resolve,
        giveUp: (err: unknown) => giveUp(err),
        cleanup: () => {
          if (deadline !== undefined) clearTimeout(deadline);
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
        this.#maybeDropQueue(q);
      };
      deadline = setTimeout(() => {
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

  #kick(q: ResourceQueue): void {
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
      this.#maybeDropQueue(q);
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
    this.#attempt(q.resource, w.token, w.ttlMs).then(
      (result) => {
        q.attempting = false;
        if (result.acquired) {
          const lease = this.#granted(q, w.token, w.ttlMs, result.fencingToken, started, result.validityMs);
          if (w.done) {
            // The waiter gave up while the grant was on its way: give it back.
            this.release(lease).catch((error: unknown) => this.#report(q.resource, 'release', error));
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
      this.#maybeDropQueue(q);
      return;
    }
    if (q.subscription === undefined) {
      const onRelease = () => {
        // While one of our own leases holds a lock, its release kicks us.
        if (this.#limit === 1 && q.localHolders > 0) return;
        this.#kick(q);
      };
      q.subscription = this.#background(() => this.#adapter.onRelease(q.resource, this.#limit, onRelease));
      // A release between our failed attempt and the subscription would be
      // missed: try once more as soon as notifications flow.
      q.subscription.ready.then(() => {
        if (q.subscription !== undefined) this.#kick(q);
      });
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

  /** Runs `fn` holding the resource; always releases. */
  async withLock<T>(
    resource: string,
    fn: (lease: Lease) => T | Promise<T>,
    options: WithLockOptions = {},
  ): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn must be a function', { argument: 'fn' });
    const lease = await this.acquire(resource, options);
    if (options.autoExtend === true) this.#startWatchdog(lease);
    try {
      return await fn(lease);
    } finally {
      try {
        await this.release(lease);
      } catch (error) {
        // The hold expires by its TTL; the caller's result matters more.
        this.#report(resource, 'release', error);
      }
    }
  }

  /** Rejects waiters, stops timers, and closes the adapter if this lock created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const q of this.#queues.values()) {
      for (const w of [...q.waiters]) {
        w.giveUp(new ClosedError('lock was closed while waiting'));
      }
      q.poll?.cancel();
      q.subscription?.unsubscribe();
    }
    this.#queues.clear();
    for (const state of this.#active) {
      this.#lose(state, new ClosedError('lock was closed; the lease is no longer watched'));
    }
    this.#active.clear();
    this.events.clear();
    this.#sweeper?.cancel();
    this.#sweeper = undefined;
    if (this.#ownsAdapter) await this.#adapter.close();
  }
}
