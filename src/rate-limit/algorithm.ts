import type { RateLimitAlgorithm, RateLimitRuleState } from '../contracts/rate-limit.js';

/**
 * The decision of one limit for one consume or peek: whether the cost
 * fits, and the figures the caller reports.
 *
 * @example
 * ```ts
 * const outcome: RuleOutcome = { allowed: true, remaining: 4, resetMs: 200, retryAfterMs: 0 };
 * ```
 */
export interface RuleOutcome extends RateLimitRuleState {
  /** Whether the cost fits now. */
  readonly allowed: boolean;
}

/**
 * What a consume step leaves behind: the outcome, and the state to store
 * (with how long to keep it) should every limit of the request allow it.
 *
 * @example
 * ```ts
 * const step = gcraConsume(undefined, Date.now(), 10, 1_000, 1);
 * if (step.outcome.allowed) store(step.next, step.ttlMs);
 * ```
 */
export interface ConsumeStep<S> {
  /** The decision of this limit. */
  readonly outcome: RuleOutcome;
  /** The state after taking the cost (meaningful only when allowed). */
  readonly next: S | undefined;
  /** How long `next` must be kept, ms (0: nothing to keep). */
  readonly ttlMs: number;
}

/**
 * What a refund step leaves behind.
 *
 * @example
 * ```ts
 * const { next, ttlMs } = gcraRefund(state, Date.now(), 10, 1_000, 1);
 * ```
 */
export interface RefundStep<S> {
  /** The state after giving the cost back; `undefined`: the limit is full, forget the key. */
  readonly next: S | undefined;
  /** How long `next` must be kept, ms. */
  readonly ttlMs: number;
}

/**
 * One algorithm as pure functions over a state and a time (ms since the
 * epoch, an integer). The memory adapter and the tests run them; the Redis
 * adapter's Lua script mirrors them operation for operation, in IEEE
 * doubles like JavaScript, so both answer alike. Every quantity is an
 * integer kept below 2^53 (the primitive caps `limit * windowMs` at 2^50),
 * so no rounding ever decides.
 *
 * @example
 * ```ts
 * const step = RATE_LIMIT_ALGORITHMS.gcra.consume(undefined, Date.now(), 10, 1_000, 1);
 * ```
 */
export interface RateLimitAlgorithmFunctions<S> {
  /** One letter naming the algorithm in store keys (`g`, `s`, `f`). */
  readonly code: string;
  /** Takes `cost` units if they fit. */
  consume(state: S | undefined, now: number, limit: number, windowMs: number, cost: number): ConsumeStep<S>;
  /** The state now; `allowed` says whether a cost of 1 fits. */
  peek(state: S | undefined, now: number, limit: number, windowMs: number): RuleOutcome;
  /** Gives back up to `cost` units. */
  refund(state: S | undefined, now: number, limit: number, windowMs: number, cost: number): RefundStep<S>;
  /** The text the Redis adapter stores for `state`. */
  encode(state: S): string;
  /**
   * Reads text written by {@link encode} for a window of `windowMs`, as
   * of `now`; `undefined` when it is not such text: unreadable, a window
   * start that is not a multiple of the window, or a state from further in
   * the future than any write could leave (a GCRA TAT more than two
   * windows ahead, a window starting more than one window ahead). Nearer
   * future states (a server clock stepped back) read as the strictest
   * state, so a key is never allowed more for it.
   */
  decode(text: string, windowMs: number, now: number): S | undefined;
}

/** Largest `limit * windowMs` accepted: keeps every intermediate quantity exact in a double. */
export const MAX_LIMIT_TIMES_WINDOW = 2 ** 50;

/** Digits of a stored number: 15 keeps it below 10^15 < 2^50, exact and far from overflow. */
const NUMBER = '(\\d{1,15})';
const TWO_NUMBERS = new RegExp(`^${NUMBER}:${NUMBER}$`);
const THREE_NUMBERS = new RegExp(`^${NUMBER}:${NUMBER}:${NUMBER}$`);

/** The numbers of `a:b` (two) or `a:b:c` (three) text, or undefined. */
export function parseNumbers(text: string, count: 2 | 3): number[] | undefined {
  const match = (count === 2 ? TWO_NUMBERS : THREE_NUMBERS).exec(text);
  if (match === null) return undefined;
  return count === 2
    ? [Number(match[1]), Number(match[2])]
    : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Start of the window of `windowMs` holding `now`, windows aligned to the epoch. */
export function windowStart(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

/**
 * The key suffix of a rule: its algorithm's letter and its window
 * (`g60000`). State written under one window is never read under another,
 * so changing a window starts afresh instead of misreading counts.
 */
export function ruleSuffix(algorithm: RateLimitAlgorithm, windowMs: number): string {
  return `${ALGORITHM_CODES[algorithm]}${windowMs}`;
}

/** The letter of each algorithm in store keys and in the Lua script's arguments. */
export const ALGORITHM_CODES: Readonly<Record<RateLimitAlgorithm, string>> = Object.freeze({
  gcra: 'g',
  'sliding-window': 's',
  'fixed-window': 'f',
});
