import { InvalidArgumentError } from '../errors.js';
import { abortedError } from '../internal/timers.js';
import { optionsChecker } from '../internal/validate.js';

/**
 * Options of {@link RateLimiter.consume}.
 *
 * @example
 * ```ts
 * await limiter.consume(`user:${id}`, { cost: 5, signal: req.signal });
 * ```
 */
export interface RateLimitConsumeOptions {
  /** Units to take: an integer from 1 to the smallest limit. @default 1 */
  cost?: number;
  /**
   * Stops waiting for the adapter (rejects with `AbortedError`). A consume
   * already sent may still be counted by the store.
   */
  signal?: AbortSignal;
}

/**
 * Options of {@link RateLimiter.peek}.
 *
 * @example
 * ```ts
 * await limiter.peek(`user:${id}`, { signal: AbortSignal.timeout(100) });
 * ```
 */
export interface RateLimitPeekOptions {
  /** Stops waiting for the adapter (rejects with `AbortedError`). */
  signal?: AbortSignal;
}

/** @internal */
export const checkConsumeOptions = optionsChecker({
  where: 'limiter.consume() options',
  keys: ['cost', 'signal'],
  hints: { points: 'cost', weight: 'cost' },
  bareNumber: 'cost',
});
/** @internal */
export const checkPeekOptions = optionsChecker({ where: 'limiter.peek() options', keys: ['signal'] });

/** @internal A signal option: undefined, or an AbortSignal not yet aborted (else `AbortedError`). */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
  }
  if (signal.aborted) throw abortedError(signal);
  return signal;
}
