import { InvalidOptionsError } from '../errors.js';
import { clockOption, optionsChecker } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';

/**
 * Options of {@link RetryBudget}.
 *
 * @example
 * ```ts
 * new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, maxTokens: 10 });
 * ```
 */
export interface RetryBudgetOptions {
  /** Retry tokens earned per request: retries may add at most this fraction of load. @default 0.1 */
  ratio?: number;
  /** Retry tokens earned per second regardless of traffic, so quiet clients can still retry. @default 1 */
  minRetriesPerSecond?: number;
  /** Most tokens the bucket holds (caps the burst of retries after a quiet period). @default 10 */
  maxTokens?: number;
  /** Time source (tests inject a fake one). @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link RetryBudgetOptions}.
 *
 * @example
 * ```ts
 * console.log(RETRY_BUDGET_DEFAULTS);
 * ```
 */
export const RETRY_BUDGET_DEFAULTS = {
  /** Retry tokens earned per request. */
  ratio: 0.1,
  /** Retry tokens earned per second regardless of traffic. */
  minRetriesPerSecond: 1,
  /** Most tokens held. */
  maxTokens: 10,
} as const;

const checkOptions = optionsChecker({
  where: 'RetryBudget options',
  keys: ['ratio', 'minRetriesPerSecond', 'maxTokens', 'clock'],
  hints: { percent: 'ratio', retryRatio: 'ratio', minPerSecond: 'minRetriesPerSecond', tokens: 'maxTokens' },
  bareNumber: 'ratio',
});

/**
 * A token bucket that limits retries to a fraction of recent requests, in the
 * manner of Finagle's and gRPC's retry budgets: every request deposits
 * `ratio` tokens, time deposits `minRetriesPerSecond`, each retry withdraws
 * one, and a retry with no token left is refused. When an upstream is fully
 * down, the load a client sends stays near `1 + ratio` attempts per call
 * instead of `maxAttempts` per call. The floor is computed from timestamps on
 * use: no timer.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.1 });
 * budget.recordRequest();
 * if (failed && budget.tryRetry()) await retry();
 * ```
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #perMs: number;
  readonly #maxTokens: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(options: RetryBudgetOptions = {}) {
    const d = RETRY_BUDGET_DEFAULTS;
    checkOptions(options);
    options ??= {};
    clockOption(options.clock);
    this.#ratio = nonNegative('ratio', options.ratio ?? d.ratio);
    this.#perMs =
      nonNegative('minRetriesPerSecond', options.minRetriesPerSecond ?? d.minRetriesPerSecond) / 1000;
    this.#maxTokens = nonNegative('maxTokens', options.maxTokens ?? d.maxTokens);
    if (this.#maxTokens < 1 && (this.#ratio > 0 || this.#perMs > 0)) {
      throw new InvalidOptionsError('maxTokens must be >= 1 (or every rate 0 to disable retries)', {
        option: 'maxTokens',
      });
    }
    this.#clock = options.clock ?? systemClock;
    this.#tokens = this.#maxTokens;
    this.#updatedAt = this.#clock.monotonic();
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Records a request (a first attempt): deposits `ratio` tokens. */
  recordRequest(): void {
    this.#refill();
    this.#tokens = Math.min(this.#maxTokens, this.#tokens + this.#ratio);
  }

  /** Withdraws a token for a retry; `false` means the retry must not be sent. */
  tryRetry(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #refill(): void {
    const now = this.#clock.monotonic();
    const elapsed = now - this.#updatedAt;
    this.#updatedAt = now;
    if (elapsed > 0 && this.#perMs > 0) {
      this.#tokens = Math.min(this.#maxTokens, this.#tokens + elapsed * this.#perMs);
    }
  }
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionsError(`${name} must be a finite number >= 0`, { option: name });
  }
  return value;
}
