import type { ConsumeStep, RateLimitAlgorithmFunctions, RefundStep, RuleOutcome } from './algorithm.js';
import { parseNumbers, windowStart } from './algorithm.js';

/**
 * The state of a fixed-window limit: the count taken in the window that
 * starts at `start` (windows are aligned to the epoch, so every key and
 * every process shares the same boundaries).
 *
 * @example
 * ```ts
 * const state: FixedWindowState = { start: 1_700_000_000_000, count: 3 };
 * ```
 */
export interface FixedWindowState {
  /** Start of the window, ms since the epoch, a multiple of the window. */
  readonly start: number;
  /** Units taken in that window. */
  readonly count: number;
}

/**
 * The window that counts at `now` and its count: the stored one when it is
 * the current window (or a later one, as after a clock step back: the
 * stricter reading), else a fresh one.
 */
function current(state: FixedWindowState | undefined, now: number, windowMs: number): FixedWindowState {
  const start = windowStart(now, windowMs);
  if (state !== undefined && state.start >= start) return state;
  return { start, count: 0 };
}

/**
 * Fixed-window consume: the cost fits while the window's count stays
 * within the limit.
 *
 * @example
 * ```ts
 * const { outcome } = fixedWindowConsume(undefined, Date.now(), 37, 10_000, 1);
 * ```
 */
export function fixedWindowConsume(
  state: FixedWindowState | undefined,
  now: number,
  limit: number,
  windowMs: number,
  cost: number,
): ConsumeStep<FixedWindowState> {
  const { start, count } = current(state, now, windowMs);
  const left = start + windowMs - now;
  if (count + cost <= limit) {
    return {
      outcome: { allowed: true, remaining: limit - count - cost, resetMs: left, retryAfterMs: 0 },
      next: { start, count: count + cost },
      ttlMs: left,
    };
  }
  return {
    outcome: {
      allowed: false,
      remaining: count < limit ? limit - count : 0,
      resetMs: count > 0 ? left : 0,
      retryAfterMs: left,
    },
    next: undefined,
    ttlMs: 0,
  };
}

/**
 * Fixed-window peek.
 *
 * @example
 * ```ts
 * const { remaining } = fixedWindowPeek(state, Date.now(), 37, 10_000);
 * ```
 */
export function fixedWindowPeek(
  state: FixedWindowState | undefined,
  now: number,
  limit: number,
  windowMs: number,
): RuleOutcome {
  const { start, count } = current(state, now, windowMs);
  const left = start + windowMs - now;
  const retryAfterMs = count + 1 <= limit ? 0 : left;
  return {
    allowed: retryAfterMs === 0,
    remaining: count < limit ? limit - count : 0,
    resetMs: count > 0 ? left : 0,
    retryAfterMs,
  };
}

/**
 * Fixed-window refund: lowers the current window's count (never below 0).
 *
 * @example
 * ```ts
 * const { next } = fixedWindowRefund(state, Date.now(), 37, 10_000, 1);
 * ```
 */
export function fixedWindowRefund(
  state: FixedWindowState | undefined,
  now: number,
  _limit: number,
  windowMs: number,
  cost: number,
): RefundStep<FixedWindowState> {
  const { start, count } = current(state, now, windowMs);
  const left = count - cost;
  if (left <= 0) return { next: undefined, ttlMs: 0 };
  return { next: { start, count: left }, ttlMs: start + windowMs - now };
}

/**
 * The fixed window as {@link RateLimitAlgorithmFunctions}; stored as `"<start>:<count>"`.
 *
 * @example
 * ```ts
 * fixedWindow.encode({ start: 1_700_000_000_000, count: 3 }); // '1700000000000:3'
 * ```
 */
export const fixedWindow: RateLimitAlgorithmFunctions<FixedWindowState> = Object.freeze({
  code: 'f',
  consume: fixedWindowConsume,
  peek: fixedWindowPeek,
  refund: fixedWindowRefund,
  encode: (state: FixedWindowState) => `${state.start}:${state.count}`,
  decode(text: string, windowMs: number, now: number): FixedWindowState | undefined {
    const numbers = parseNumbers(text, 2);
    if (numbers === undefined || windowStart(numbers[0]!, windowMs) !== numbers[0]) return undefined;
    if (numbers[0]! > windowStart(now, windowMs) + windowMs) return undefined;
    return { start: numbers[0]!, count: numbers[1]! };
  },
});
