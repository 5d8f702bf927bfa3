/**
 * The circuit breaker's state machine.
 *
 * ```text
 *                  a run of consecutiveFailures failures, or
 *                  failureRateThreshold of >= minimumRequests calls in the window
 *   ┌──────────┐ ─────────────────────────────────────────────────────────> ┌────────┐
 *   │  closed  │                                                            │  open  │ <─┐
 *   └──────────┘ <──┐                                                       └────────┘   │ a probe fails:
 *        ▲          │ halfOpenProbes probes succeed       the open time passed  │        │ open again,
 *        │          │ (open time back to openMs)          (read on use)         ▼        │ twice as long
 *        │          └─────────────────────────────────────────────────── ┌───────────┐ ──┘ (<= maxOpenMs)
 *        └──────────────────────────── reset() ───────────────────────── │ half-open │
 *                                                                        └───────────┘
 * ```
 *
 * - `closed` guards the upstream's callers: every call is admitted (a
 *   `'closed'` permit) and its verdict counted. A success ends the run of
 *   consecutive failures; a failure extends it and lands in the current
 *   bucket of the sliding window (ten buckets of `windowMs / 10`). It opens
 *   on either trigger: the run reaching `consecutiveFailures`
 *   (`reason: 'consecutive-failures'`: a hard outage, caught fast even at
 *   low traffic) or the window holding at least `minimumRequests` verdicts
 *   of which `failureRateThreshold` failed (`'failure-rate'`: a partial
 *   failure, where successes interleave and the run never grows).
 * - `open` guards the upstream: every call fails fast with
 *   `CircuitOpenError`, its `retryAfterMs` the open time left. Verdicts of
 *   calls admitted while closed no longer count. There is no timer: the
 *   first read of `state` after the open time turns it half-open, so idle
 *   breakers cost nothing.
 * - `half-open` tests recovery without a stampede: `halfOpenProbes` calls
 *   at once get a `'probe'` permit, everyone else still fails fast. A
 *   probe's slot is freed when its call settles, never while it runs.
 *   `halfOpenProbes` successes close it (history forgotten, open time back
 *   to `openMs`); one failed probe reopens it (`'probe-failed'`) for twice
 *   the open time, up to `maxOpenMs`, so a blip recovers in about a second
 *   and a long outage is probed rarely. A `neutral` verdict (a cancelled
 *   call, a 4xx) frees the slot and decides nothing.
 * - `probeNow()` ends the open time at once (a recovery signal from
 *   outside: the upstream registered again, a connect probe reached it).
 * - `trip()` opens it at once (`'unreachable'`: outside evidence the
 *   upstream is down, a refused connect right after a failed attempt).
 * - `extendOpen()` restarts the open time, never past `maxOpenMs` after the
 *   circuit opened (evidence from outside that the upstream is still down:
 *   a connect probe was refused), so no probe is spent on it meanwhile.
 * - `reset()` closes it from any state and forgets its history.
 *
 * @module
 */
import {
  AbortedError,
  CircuitOpenError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
} from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { clockOption, durationOption, optionsChecker } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';
import { checkExecuteArguments, NEVER_ABORTED, type Policy, type PolicyContext } from './policy.js';

/**
 * State of a {@link CircuitBreaker}: `closed` lets calls through, `open`
 * fails them fast, `half-open` lets a few probes through to test recovery
 * (the transitions: the notes at the top of circuit-breaker.ts).
 *
 * @example
 * ```ts
 * if (breaker.state === 'open') return fallback();
 * ```
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A state change of a {@link CircuitBreaker}.
 *
 * @example
 * ```ts
 * const onStateChange = (c: CircuitStateChange) => log.warn(`breaker ${c.from} -> ${c.to}`);
 * ```
 */
export interface CircuitStateChange {
  /** The state before. */
  readonly from: CircuitState;
  /** The state after. */
  readonly to: CircuitState;
  /** Why it opened, for transitions to `open` (`unreachable`: {@link CircuitBreaker.trip}). */
  readonly reason?: 'consecutive-failures' | 'failure-rate' | 'probe-failed' | 'unreachable' | undefined;
}

/**
 * Options of {@link CircuitBreaker}.
 *
 * @example
 * ```ts
 * new CircuitBreaker({ consecutiveFailures: 5, failureRateThreshold: 0.5, openMs: 1_000 });
 * ```
 */
export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row. @default 5 */
  consecutiveFailures?: number;
  /** Opens when at least this fraction of the calls in the window failed, in (0, 1]. @default 0.5 */
  failureRateThreshold?: number;
  /** Length of the sliding window of the failure rate, in ms. @default 10_000 */
  windowMs?: number;
  /**
   * The failure rate is only judged with at least this many calls in the
   * window. `Infinity` turns the rate trigger off: only consecutive failures
   * open the breaker, and no window is kept (a success costs no clock read).
   * @default 20
   */
  minimumRequests?: number;
  /** How long the breaker stays open before letting probes through, in ms. @default 1_000 */
  openMs?: number;
  /** Each failed probe doubles the open time, up to this, in ms; a close resets it to `openMs`. @default 10_000 */
  maxOpenMs?: number;
  /** Probes allowed at once in half-open, and successes needed to close. @default 3 */
  halfOpenProbes?: number;
  /** Which errors of {@link CircuitBreaker.execute} count as failures. @default every error but an abort */
  isFailure?: (error: unknown) => boolean;
  /** Called on every state change (synchronously, during the call that caused it). @default none */
  onStateChange?: (change: CircuitStateChange) => void;
  /** Time source (tests inject a fake one). @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link CircuitBreakerOptions}.
 *
 * @example
 * ```ts
 * console.log(CIRCUIT_BREAKER_DEFAULTS);
 * ```
 */
export const CIRCUIT_BREAKER_DEFAULTS = {
  /** Failures in a row that open it. */
  consecutiveFailures: 5,
  /** Failure rate of the window that opens it. */
  failureRateThreshold: 0.5,
  /** Length of the sliding window, ms. */
  windowMs: 10_000,
  /** Calls the window needs before its rate counts. */
  minimumRequests: 20,
  /** First open time, ms. */
  openMs: 1_000,
  /** Longest open time, ms. */
  maxOpenMs: 10_000,
  /** Probes at once in half-open, and successes that close it. */
  halfOpenProbes: 3,
} as const;

/**
 * What {@link CircuitBreaker.acquire} hands out: pass it back to
 * {@link CircuitBreaker.release} exactly once.
 *
 * @example
 * ```ts
 * const permit: CircuitPermit = breaker.acquire();
 * ```
 */
export type CircuitPermit = 'closed' | 'probe';

/**
 * The verdict on a call made under a {@link CircuitPermit}: `neutral` (a
 * cancelled call, a 4xx) says nothing about the upstream's health.
 *
 * @example
 * ```ts
 * breaker.release(permit, response.status >= 500 ? 'failure' : 'success');
 * ```
 */
export type CircuitVerdict = 'success' | 'failure' | 'neutral';

const BUCKETS = 10;

const checkOptions = optionsChecker({
  where: 'CircuitBreaker options',
  keys: [
    'consecutiveFailures',
    'failureRateThreshold',
    'windowMs',
    'minimumRequests',
    'openMs',
    'maxOpenMs',
    'halfOpenProbes',
    'isFailure',
    'onStateChange',
    'clock',
  ],
  hints: {
    threshold: 'failureRateThreshold',
    failureThreshold: 'consecutiveFailures',
    resetTimeout: 'openMs',
  },
  bareNumber: 'consecutiveFailures',
});
const PERMITS = new Set<unknown>(['closed', 'probe']);
const VERDICTS = new Set<unknown>(['success', 'failure', 'neutral']);

/**
 * A circuit breaker with two triggers: a run of consecutive failures, and a
 * failure rate over a sliding window (ten buckets, with a minimum number of
 * calls). Open, it fails calls fast with {@link CircuitOpenError}; after
 * `openMs` it turns half-open and lets `halfOpenProbes` probes through at
 * once while everyone else still fails fast; that many successes close it,
 * one failure reopens it for twice as long (up to `maxOpenMs`), so a short
 * blip recovers in about a second while a long outage is probed rarely.
 *
 * There is no timer: every transition is computed from timestamps when the
 * breaker is used, so thousands of idle breakers cost nothing. A probe's slot
 * is freed only when its call settles, never while it still runs.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ consecutiveFailures: 5, openMs: 1_000 });
 * const data = await breaker.execute(({ signal }) => axios.get(url, { signal }));
 * ```
 */
export class CircuitBreaker implements Policy {
  readonly #consecutiveLimit: number;
  readonly #rateThreshold: number;
  readonly #bucketMs: number;
  readonly #minimumRequests: number;
  /** `minimumRequests: Infinity`: consecutive failures only, no window. */
  readonly #rateTrigger: boolean;
  readonly #openMs: number;
  readonly #maxOpenMs: number;
  #currentOpenMs: number;
  readonly #probes: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #onStateChange: ((change: CircuitStateChange) => void) | undefined;
  readonly #clock: Clock;

  #state: CircuitState = 'closed';
  #openedAt = 0;
  /** When the open time ends (`#openedAt + #currentOpenMs`, later after `extendOpen()`). */
  #openUntil = 0;
  #consecutive = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  readonly #bucketIndex = new Float64Array(BUCKETS).fill(-1);
  readonly #successes = new Uint32Array(BUCKETS);
  readonly #failures = new Uint32Array(BUCKETS);

  constructor(options: CircuitBreakerOptions = {}) {
    const d = CIRCUIT_BREAKER_DEFAULTS;
    checkOptions(options);
    options ??= {};
    for (const name of ['isFailure', 'onStateChange'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw new InvalidOptionsError(`${name} must be a function`, { option: name });
      }
    }
    clockOption(options.clock);
    this.#consecutiveLimit = positiveInteger(
      'consecutiveFailures',
      options.consecutiveFailures ?? d.consecutiveFailures,
    );
    const rate = options.failureRateThreshold ?? d.failureRateThreshold;
    if (typeof rate !== 'number' || !(rate > 0 && rate <= 1)) {
      throw new InvalidOptionsError('failureRateThreshold must be a number in (0, 1]', {
        option: 'failureRateThreshold',
      });
    }
    this.#rateThreshold = rate;
    this.#bucketMs = durationOption('windowMs', options.windowMs ?? d.windowMs, BUCKETS) / BUCKETS;
    const minimumRequests = options.minimumRequests ?? d.minimumRequests;
    this.#rateTrigger = minimumRequests !== Number.POSITIVE_INFINITY;
    this.#minimumRequests = this.#rateTrigger
      ? positiveInteger('minimumRequests', minimumRequests)
      : minimumRequests;
    this.#openMs = durationOption('openMs', options.openMs ?? d.openMs);
    this.#maxOpenMs = durationOption('maxOpenMs', options.maxOpenMs ?? Math.max(d.maxOpenMs, this.#openMs));
    if (this.#maxOpenMs < this.#openMs) {
      throw new InvalidOptionsError('maxOpenMs must be >= openMs', { option: 'maxOpenMs' });
    }
    this.#currentOpenMs = this.#openMs;
    this.#probes = positiveInteger('halfOpenProbes', options.halfOpenProbes ?? d.halfOpenProbes);
    this.#isFailure = options.isFailure ?? ((err) => !(err instanceof AbortedError || isAbortLike(err)));
    this.#onStateChange = options.onStateChange;
    this.#clock = options.clock ?? systemClock;
  }

  /** The current state, computed from timestamps (an expired `open` reads as `half-open`). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#clock.monotonic() >= this.#openUntil) {
      this.#transition('half-open');
    }
    return this.#state;
  }

  /**
   * Asks to make a call. Returns a permit to give back to {@link release},
   * or throws {@link CircuitOpenError} when the call must fail fast.
   */
  acquire(): CircuitPermit {
    const state = this.state;
    if (state === 'closed') return 'closed';
    if (state === 'half-open' && this.#probesInFlight < this.#probes) {
      this.#probesInFlight++;
      return 'probe';
    }
    const retryAfterMs =
      state === 'open' ? Math.max(0, Math.ceil(this.#openUntil - this.#clock.monotonic())) : undefined;
    throw new CircuitOpenError(
      state === 'open' ? 'circuit is open' : 'circuit is half-open and all probe slots are taken',
      retryAfterMs === undefined ? undefined : { retryAfterMs },
    );
  }

  /** Reports how a call made under `permit` ended. Call exactly once per permit. */
  release(permit: CircuitPermit, verdict: CircuitVerdict): void {
    if (!PERMITS.has(permit)) {
      throw new InvalidArgumentError("permit must be what acquire() returned ('closed' or 'probe')", {
        argument: 'permit',
      });
    }
    if (!VERDICTS.has(verdict)) {
      throw new InvalidArgumentError("verdict must be 'success', 'failure' or 'neutral'", {
        argument: 'verdict',
      });
    }
    this.#record(permit, verdict);
  }

  /** {@link release} once its arguments are known to be a permit and a verdict. */
  #record(permit: CircuitPermit, verdict: CircuitVerdict): void {
    if (permit === 'probe') {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (this.#state !== 'half-open' || verdict === 'neutral') return;
      if (verdict === 'failure') {
        this.#currentOpenMs = Math.min(this.#maxOpenMs, this.#currentOpenMs * 2);
        this.#open('probe-failed');
      } else if (++this.#probeSuccesses >= this.#probes) {
        this.#reset();
        this.#transition('closed');
      }
      return;
    }
    // A call that started while closed: it only counts while still closed.
    if (this.#state !== 'closed' || verdict === 'neutral') return;
    if (!this.#rateTrigger) {
      if (verdict === 'success') this.#consecutive = 0;
      else if (++this.#consecutive >= this.#consecutiveLimit) this.#open('consecutive-failures');
      return;
    }
    const now = this.#clock.monotonic();
    const index = Math.floor(now / this.#bucketMs);
    const slot = index % BUCKETS;
    if (this.#bucketIndex[slot] !== index) {
      this.#bucketIndex[slot] = index;
      this.#successes[slot] = 0;
      this.#failures[slot] = 0;
    }
    if (verdict === 'success') {
      this.#successes[slot]!++;
      this.#consecutive = 0;
      return;
    }
    this.#failures[slot]!++;
    if (++this.#consecutive >= this.#consecutiveLimit) {
      this.#open('consecutive-failures');
      return;
    }
    let total = 0;
    let failed = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#bucketIndex[i]! > index - BUCKETS) {
        total += this.#successes[i]! + this.#failures[i]!;
        failed += this.#failures[i]!;
      }
    }
    if (total >= this.#minimumRequests && failed / total >= this.#rateThreshold) this.#open('failure-rate');
  }

  /**
   * Runs `fn` under the breaker: fails fast with {@link CircuitOpenError}
   * when open, records the outcome otherwise (errors count as failures per
   * `isFailure`; aborts are neutral).
   */
  async execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    checkExecuteArguments('CircuitBreaker.execute()', fn, signal);
    if (signal?.aborted) throw abortedError(signal);
    // Closed (the usual case) needs no clock read: `state` reads one only when open.
    const permit: CircuitPermit = this.#state === 'closed' ? 'closed' : this.acquire();
    try {
      const value = await fn({ signal: signal ?? NEVER_ABORTED });
      this.#record(permit, 'success');
      return value;
    } catch (err) {
      this.#record(permit, signal?.aborted || !this.#isFailure(err) ? 'neutral' : 'failure');
      throw err;
    }
  }

  /**
   * Ends the open time now, as if it had run out: the next calls are
   * half-open probes (a failed one reopens it, twice as long). For a
   * recovery signal from outside: the upstream registered again, or a
   * connect probe reached it. Does nothing unless open.
   *
   * @example
   * ```ts
   * registry.on('change', (c) => c.type === 'up' && breaker.probeNow());
   * ```
   */
  probeNow(): void {
    if (this.state === 'open') this.#transition('half-open');
  }

  /**
   * Restarts the open time now, but never past `maxOpenMs` after the
   * circuit opened: for evidence from outside that the upstream is still
   * down (a connect probe was refused), so no half-open probe is spent on
   * it meanwhile. Does nothing unless open.
   *
   * @example
   * ```ts
   * socket.once('error', () => breaker.extendOpen());
   * ```
   */
  extendOpen(): void {
    if (this.state !== 'open') return;
    const now = this.#clock.monotonic();
    const until = Math.min(now + this.#currentOpenMs, this.#openedAt + this.#maxOpenMs);
    if (until > this.#openUntil) this.#openUntil = until;
  }

  /**
   * Opens the circuit now (`reason: 'unreachable'`), as if its failure
   * threshold had been reached: for evidence from outside that the
   * upstream is down, such as a connect probe refused right after an
   * attempt could not connect. Does nothing unless closed.
   *
   * @example
   * ```ts
   * probe.once('error', (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED' && breaker.trip());
   * ```
   */
  trip(): void {
    if (this.state === 'closed') this.#open('unreachable');
  }

  /** Forces the breaker closed and forgets its history. */
  reset(): void {
    this.#reset();
    if (this.#state !== 'closed') this.#transition('closed');
  }

  #open(reason: CircuitStateChange['reason']): void {
    this.#openedAt = this.#clock.monotonic();
    this.#openUntil = this.#openedAt + this.#currentOpenMs;
    this.#probeSuccesses = 0;
    this.#transition('open', reason);
  }

  #reset(): void {
    this.#currentOpenMs = this.#openMs;
    this.#consecutive = 0;
    this.#probeSuccesses = 0;
    this.#bucketIndex.fill(-1);
  }

  #transition(to: CircuitState, reason?: CircuitStateChange['reason']): void {
    const from = this.#state;
    this.#state = to;
    if (to === 'half-open') this.#probeSuccesses = 0;
    if (from !== to) this.#onStateChange?.({ from, to, reason });
  }
}

function positiveInteger(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(`${name} must be an integer >= 1`, { option: name });
  }
  return value;
}

function isAbortLike(err: unknown): boolean {
  return isScaleoutError(err, 'ERR_ABORTED');
}
