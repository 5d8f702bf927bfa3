import type { RateLimitAlgorithm } from '../contracts/rate-limit.js';
import type { RateLimitAlgorithmFunctions } from './algorithm.js';
import { fixedWindow } from './fixed-window.js';
import { gcra } from './gcra.js';
import { slidingWindow } from './sliding-window.js';

/**
 * Every algorithm by name, as pure functions (see {@link RateLimitAlgorithmFunctions}).
 *
 * @example
 * ```ts
 * const step = RATE_LIMIT_ALGORITHMS['fixed-window'].consume(undefined, Date.now(), 10, 1_000, 1);
 * ```
 */
export const RATE_LIMIT_ALGORITHMS: Readonly<
  Record<RateLimitAlgorithm, RateLimitAlgorithmFunctions<unknown>>
> = Object.freeze({
  gcra: gcra as RateLimitAlgorithmFunctions<unknown>,
  'sliding-window': slidingWindow as RateLimitAlgorithmFunctions<unknown>,
  'fixed-window': fixedWindow as RateLimitAlgorithmFunctions<unknown>,
});
