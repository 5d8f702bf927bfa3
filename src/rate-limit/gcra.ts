import type { ConsumeStep, RateLimitAlgorithmFunctions, RefundStep, RuleOutcome } from './algorithm.js';
import { parseNumbers } from './algorithm.js';

const WHOLE_MS = /^\d{1,15}$/;

/**
 * The state of a GCRA limit: its theoretical arrival time (TAT), the moment
 * the bucket is full again, kept exactly as `tat + rem / limit` ms. One
 * request "costs" an emission interval of `windowMs / limit` ms, which is
 * rarely a whole number of ms; counting in ticks of `1 / limit` ms makes it
 * exactly `windowMs` ticks, so a burst of `limit` fits and `limit + 1` never
 * does, however the division falls.
 *
 * @example
 * ```ts
 * const state: GcraState = { tat: Date.now() + 270, rem: 10 }; // full again in 270 + 10/37 ms
 * ```
 */
export interface GcraState {
  /** Whole ms of the TAT (ms since the epoch). */
  readonly tat: number;
  /** The TAT's fraction of a ms, in ticks of `1 / limit` ms: `0 <= rem < limit`. */
  readonly rem: number;
}

/**
 * @internal The bucket's debt in ticks (`1 / limit` ms): how far the TAT is ahead of
 * `now`, 0 for an empty or stale state, at most the capacity
 * `limit * windowMs` (a TAT further ahead than the window, as after a clock
 * step back, reads as an empty bucket, never as more).
 */
export function gcraDebt(state: GcraState | undefined, now: number, limit: number, windowMs: number): number {
  if (state === undefined) return 0;
  const ahead = state.tat - now;
  if (ahead < 0) return 0;
  const capacity = limit * windowMs;
  if (ahead > windowMs) return capacity;
  const d = ahead * limit + state.rem;
  return Math.min(d, capacity);
}

/** The state whose debt at `now` is `d` ticks, and how long to keep it (until the TAT). */
function stateAt(now: number, d: number, limit: number): { next: GcraState; ttlMs: number } {
  const whole = Math.floor(d / limit);
  const rem = d - whole * limit;
  return { next: { tat: now + whole, rem }, ttlMs: rem > 0 ? whole + 1 : whole };
}

/**
 * @internal Where {@link gcraTake} writes: the rule's outcome, and after an
 * allowed consume the next state (the TAT, its remainder, its time to live).
 */
export interface GcraTaken {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  tat: number;
  rem: number;
  ttlMs: number;
}

/** @internal A {@link GcraTaken} to pass to {@link gcraTake} as its `out` (reused by its owner). */
export function newGcraTaken(): GcraTaken {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0, tat: 0, rem: 0, ttlMs: 0 };
}

/**
 * @internal GCRA consume writing its outcome and next state into `out`
 * instead of new objects: the memory adapter keeps its states in place.
 * The one implementation of the consume ({@link gcraConsume} wraps it).
 */
export function gcraTake(
  state: GcraState | undefined,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
  out: GcraTaken,
): void {
  gcraTakeFromDebt(gcraDebt(state, now, limit, windowMs), now, limit, windowMs, cost, out);
}

/**
 * @internal The consume of {@link gcraTake} once the debt `d` (ticks) is
 * known: what the Redis adapter runs on the debt its script answers (the
 * script writes the same next state), so both adapters share one
 * implementation of the figures.
 */
export function gcraTakeFromDebt(
  d: number,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
  out: GcraTaken,
): void {
  const capacity = limit * windowMs;
  const after = d + cost * windowMs;
  if (after <= capacity) {
    // The state at `after` ticks of debt (stateAt, inlined: this is the hot path).
    const whole = Math.floor(after / limit);
    const rem = after - whole * limit;
    const ttlMs = rem > 0 ? whole + 1 : whole;
    out.allowed = true;
    out.remaining = Math.floor((capacity - after) / windowMs);
    out.resetMs = ttlMs;
    out.retryAfterMs = 0;
    out.tat = now + whole;
    out.rem = rem;
    out.ttlMs = ttlMs;
    return;
  }
  out.allowed = false;
  out.remaining = Math.floor((capacity - d) / windowMs);
  out.resetMs = Math.ceil(d / limit);
  out.retryAfterMs = Math.ceil((after - capacity) / limit);
}

/**
 * GCRA consume: the cost takes `cost * windowMs` ticks; it fits when the
 * debt after it is at most the capacity (`limit * windowMs` ticks, i.e. the
 * TAT at most one window ahead).
 *
 * @example
 * ```ts
 * const { outcome } = gcraConsume(undefined, Date.now(), 37, 10_000, 1); // allowed, remaining 36
 * ```
 */
export function gcraConsume(
  state: GcraState | undefined,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
): ConsumeStep<GcraState> {
  const out = { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0, tat: 0, rem: 0, ttlMs: 0 };
  gcraTake(state, now, limit, windowMs, cost, out);
  const outcome: RuleOutcome = {
    allowed: out.allowed,
    remaining: out.remaining,
    resetMs: out.resetMs,
    retryAfterMs: out.retryAfterMs,
  };
  return out.allowed
    ? { outcome, next: { tat: out.tat, rem: out.rem }, ttlMs: out.ttlMs }
    : { outcome, next: undefined, ttlMs: 0 };
}

/**
 * GCRA peek: the remaining units now, and when one more would fit.
 *
 * @example
 * ```ts
 * const { remaining } = gcraPeek(state, Date.now(), 37, 10_000);
 * ```
 */
export function gcraPeek(
  state: GcraState | undefined,
  now: number,
  limit: number,
  windowMs: number,
): RuleOutcome {
  const capacity = limit * windowMs;
  const d = gcraDebt(state, now, limit, windowMs);
  const after = d + windowMs;
  const retryAfterMs = after <= capacity ? 0 : Math.ceil((after - capacity) / limit);
  return {
    allowed: retryAfterMs === 0,
    remaining: Math.floor((capacity - d) / windowMs),
    resetMs: Math.ceil(d / limit),
    retryAfterMs,
  };
}

/**
 * GCRA refund: moves the TAT back by `cost` emission intervals, never
 * before `now` (a bucket is never fuller than full).
 *
 * @example
 * ```ts
 * const { next } = gcraRefund(state, Date.now(), 37, 10_000, 1);
 * ```
 */
export function gcraRefund(
  state: GcraState | undefined,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
): RefundStep<GcraState> {
  const d = gcraDebt(state, now, limit, windowMs) - cost * windowMs;
  if (d <= 0) return { next: undefined, ttlMs: 0 };
  return stateAt(now, d, limit);
}

/**
 * GCRA as {@link RateLimitAlgorithmFunctions}; stored as `"<tat>"` when
 * the TAT is a whole ms, else `"<tat>:<rem>"`.
 *
 * @example
 * ```ts
 * gcra.encode({ tat: 1_700_000_000_270, rem: 10 }); // '1700000000270:10'
 * gcra.encode({ tat: 1_700_000_000_270, rem: 0 }); // '1700000000270'
 * ```
 */
export const gcra: RateLimitAlgorithmFunctions<GcraState> = Object.freeze({
  code: 'g',
  consume: gcraConsume,
  peek: gcraPeek,
  refund: gcraRefund,
  // The TAT alone when it is a whole ms (always, when the limit divides the window): Redis keeps such text as an integer.
  encode: (state: GcraState) => (state.rem > 0 ? `${state.tat}:${state.rem}` : `${state.tat}`),
  decode(text: string, windowMs: number, now: number): GcraState | undefined {
    const numbers = WHOLE_MS.test(text) ? [Number(text), 0] : parseNumbers(text, 2);
    if (numbers === undefined || numbers[0]! - now > 2 * windowMs) return undefined;
    return { tat: numbers[0]!, rem: numbers[1]! };
  },
});
