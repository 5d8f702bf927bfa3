import type { ConsumeStep, RateLimitAlgorithmFunctions, RefundStep, RuleOutcome } from './algorithm.js';
import { parseNumbers, windowStart } from './algorithm.js';

/**
 * The state of a sliding-window limit: the counts of the current window
 * (`count`, the window starting at `start`) and of the one before it
 * (`previous`). The estimate of the units taken over the last `windowMs`
 * is `previous * (time left in the window) / windowMs + count`: exact when
 * the previous window's traffic was spread evenly; see the guide for the
 * worst case.
 *
 * @example
 * ```ts
 * const state: SlidingWindowState = { start: 1_700_000_000_000, count: 3, previous: 10 };
 * ```
 */
export interface SlidingWindowState {
  /** Start of the current window, ms since the epoch, a multiple of the window. */
  readonly start: number;
  /** Units taken in the current window. */
  readonly count: number;
  /** Units taken in the window before it. */
  readonly previous: number;
}

/** The state rolled forward to the window holding `now` (a later stored window is kept: the stricter reading). */
function roll(state: SlidingWindowState | undefined, now: number, windowMs: number): SlidingWindowState {
  const start = windowStart(now, windowMs);
  if (state === undefined) return { start, count: 0, previous: 0 };
  if (state.start >= start) return state;
  if (state.start === start - windowMs) return { start, count: 0, previous: state.count };
  return { start, count: 0, previous: 0 };
}

/**
 * The estimate scaled by `windowMs` (so it stays an integer):
 * `previous * weight + count * windowMs`, where `weight` is the ms left in
 * the current window (at most the window).
 */
function used(s: SlidingWindowState, now: number, windowMs: number): number {
  let weight = s.start + windowMs - now;
  if (weight > windowMs) weight = windowMs;
  return s.previous * weight + s.count * windowMs;
}

/** Ms until the estimate reaches 0. */
function resetOf(s: SlidingWindowState, now: number, windowMs: number): number {
  if (s.count > 0) return s.start + 2 * windowMs - now;
  if (s.previous > 0) return s.start + windowMs - now;
  return 0;
}

/**
 * Ms until `cost` more units fit: later in this window as the previous
 * window's weight fades, or in the next window (where `count` becomes the
 * fading one), or at the latest at the start of the window after.
 */
function retryOf(s: SlidingWindowState, now: number, limit: number, windowMs: number, cost: number): number {
  let left = s.start + windowMs - now;
  if (left > windowMs) left = windowMs;
  const room = (limit - cost - s.count) * windowMs;
  if (s.previous > 0 && room >= 0) {
    const t = left - Math.floor(room / s.previous);
    if (t < left) return Math.max(t, 0);
  }
  const roomNext = (limit - cost) * windowMs;
  if (roomNext < 0) return left + windowMs;
  if (s.count === 0) return left;
  const t = windowMs - Math.floor(roomNext / s.count);
  if (t <= 0) return left;
  if (t < windowMs) return left + t;
  return left + windowMs;
}

/**
 * Sliding-window consume: the cost fits while the estimate stays within the limit.
 *
 * @example
 * ```ts
 * const { outcome } = slidingWindowConsume(undefined, Date.now(), 37, 10_000, 1);
 * ```
 */
export function slidingWindowConsume(
  state: SlidingWindowState | undefined,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
): ConsumeStep<SlidingWindowState> {
  const s = roll(state, now, windowMs);
  const capacity = limit * windowMs;
  const u = used(s, now, windowMs);
  const after = u + cost * windowMs;
  if (after <= capacity) {
    const next = { start: s.start, count: s.count + cost, previous: s.previous };
    const ttlMs = s.start + 2 * windowMs - now;
    return {
      outcome: {
        allowed: true,
        remaining: Math.floor((capacity - after) / windowMs),
        resetMs: ttlMs,
        retryAfterMs: 0,
      },
      next,
      ttlMs,
    };
  }
  return {
    outcome: {
      allowed: false,
      remaining: u < capacity ? Math.floor((capacity - u) / windowMs) : 0,
      resetMs: resetOf(s, now, windowMs),
      retryAfterMs: retryOf(s, now, limit, windowMs, cost),
    },
    next: undefined,
    ttlMs: 0,
  };
}

/**
 * Sliding-window peek.
 *
 * @example
 * ```ts
 * const { remaining } = slidingWindowPeek(state, Date.now(), 37, 10_000);
 * ```
 */
export function slidingWindowPeek(
  state: SlidingWindowState | undefined,
  now: number,
  limit: number,
  windowMs: number,
): RuleOutcome {
  const s = roll(state, now, windowMs);
  const capacity = limit * windowMs;
  const u = used(s, now, windowMs);
  const retryAfterMs = u + windowMs <= capacity ? 0 : retryOf(s, now, limit, windowMs, 1);
  return {
    allowed: retryAfterMs === 0,
    remaining: u < capacity ? Math.floor((capacity - u) / windowMs) : 0,
    resetMs: resetOf(s, now, windowMs),
    retryAfterMs,
  };
}

/**
 * Sliding-window refund: lowers the current window's count (never below 0).
 *
 * @example
 * ```ts
 * const { next } = slidingWindowRefund(state, Date.now(), 37, 10_000, 1);
 * ```
 */
export function slidingWindowRefund(
  state: SlidingWindowState | undefined,
  now: number,
  _limit: number,
  windowMs: number,
  cost: number,
): RefundStep<SlidingWindowState> {
  const s = roll(state, now, windowMs);
  const count = s.count > cost ? s.count - cost : 0;
  if (count === 0 && s.previous === 0) return { next: undefined, ttlMs: 0 };
  return { next: { start: s.start, count, previous: s.previous }, ttlMs: s.start + 2 * windowMs - now };
}

/**
 * The sliding window as {@link RateLimitAlgorithmFunctions}; stored as
 * `"<start>:<count>:<previous>"`.
 *
 * @example
 * ```ts
 * slidingWindow.encode({ start: 1_700_000_000_000, count: 3, previous: 10 }); // '1700000000000:3:10'
 * ```
 */
export const slidingWindow: RateLimitAlgorithmFunctions<SlidingWindowState> = Object.freeze({
  code: 's',
  consume: slidingWindowConsume,
  peek: slidingWindowPeek,
  refund: slidingWindowRefund,
  encode: (state: SlidingWindowState) => `${state.start}:${state.count}:${state.previous}`,
  decode(text: string, windowMs: number, now: number): SlidingWindowState | undefined {
    const numbers = parseNumbers(text, 3);
    if (numbers === undefined || windowStart(numbers[0]!, windowMs) !== numbers[0]) return undefined;
    if (numbers[0]! > windowStart(now, windowMs) + windowMs) return undefined;
    return { start: numbers[0]!, count: numbers[1]!, previous: numbers[2]! };
  },
});
