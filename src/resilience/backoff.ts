import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

/**
 * Options of {@link fullJitterBackoff}.
 *
 * @example
 * ```ts
 * const options: BackoffOptions = { baseMs: 50, maxMs: 1_000 };
 * ```
 */
export interface BackoffOptions {
  /** Delay scale of the first retry, in ms. @default 100 */
  baseMs?: number;
  /** Upper bound of any delay, in ms. @default 10_000 */
  maxMs?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Computes the delay before retry number `attempt` (0 for the first retry).
 *
 * @example
 * ```ts
 * const backoff: Backoff = (attempt) => Math.min(1_000, 50 * 2 ** attempt);
 * ```
 */
export type Backoff = (attempt: number) => number;

/**
 * Defaults of {@link BackoffOptions}.
 *
 * @example
 * ```ts
 * const backoff = fullJitterBackoff({ ...BACKOFF_DEFAULTS, maxMs: 2_000 });
 * ```
 */
export const BACKOFF_DEFAULTS = {
  /** Delay scale of the first retry, ms. */
  baseMs: 100,
  /** Largest delay, ms. */
  maxMs: 10_000,
} as const;

const checkOptions = optionsChecker({
  where: 'backoff options',
  keys: ['baseMs', 'maxMs', 'random'],
  bareNumber: 'baseMs',
});

/**
 * Capped exponential backoff with full jitter: a uniform random delay in
 * `[0, min(maxMs, baseMs * 2^attempt))`. Spreads retries of many clients so
 * they do not arrive together. Never returns more than `maxMs`, whatever the
 * attempt number.
 *
 * @example
 * ```ts
 * const backoff = fullJitterBackoff({ baseMs: 50, maxMs: 1_000 });
 * await sleep(backoff(retryIndex));
 * ```
 */
export function fullJitterBackoff(options: BackoffOptions = {}): Backoff {
  checkOptions(options);
  options ??= {};
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new InvalidOptionsError('random must be a function returning [0, 1)', { option: 'random' });
  }
  const baseMs = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const maxMs = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  const random = options.random ?? Math.random;
  if (!Number.isFinite(baseMs) || baseMs < 0) {
    throw new InvalidOptionsError('baseMs must be a finite number >= 0', { option: 'baseMs' });
  }
  if (!Number.isFinite(maxMs) || maxMs < baseMs) {
    throw new InvalidOptionsError('maxMs must be a finite number >= baseMs', { option: 'maxMs' });
  }
  return (attempt: number): number => {
    const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
    // 2^n overflows to Infinity past ~1023; Math.min caps it either way.
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(n, 1023));
    return Math.floor(random() * ceiling);
  };
}
