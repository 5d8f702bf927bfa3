import {
  AbortedError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  RetryBudgetExhaustedError,
} from '../errors.js';
import { abortedError, sleep } from '../internal/timers.js';
import { clockOption, optionsChecker } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';
import { type Backoff, type BackoffOptions, fullJitterBackoff } from './backoff.js';
import { checkExecuteArguments, NEVER_ABORTED, type Policy, type PolicyContext } from './policy.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';

/**
 * The context {@link RetryPolicy} hands to each attempt.
 *
 * @example
 * ```ts
 * await retry.execute(({ signal, attempt }) => callInstance(instances[attempt - 1], { signal }));
 * ```
 */
export interface RetryContext extends PolicyContext {
  /** 1 for the first attempt, 2 for the first retry... */
  readonly attempt: number;
}

/**
 * A retry about to happen, given to {@link RetryPolicyOptions.onRetry}.
 *
 * @example
 * ```ts
 * const onRetry = (r: RetryInfo) => log.info(`retry ${r.attempt} in ${r.delayMs} ms`);
 * ```
 */
export interface RetryInfo {
  /** The number of the attempt about to be made (2 for the first retry). */
  readonly attempt: number;
  /** How long the policy waits first, in ms. */
  readonly delayMs: number;
  /** The error of the attempt that failed. */
  readonly error: unknown;
}

/**
 * Options of {@link RetryPolicy}.
 *
 * @example
 * ```ts
 * new RetryPolicy({ maxAttempts: 3, backoff: { baseMs: 50, maxMs: 1_000 }, budget: { ratio: 0.1 } });
 * ```
 */
export interface RetryPolicyOptions {
  /** Attempts in all, the first included. `1` disables retries. @default 3 */
  maxAttempts?: number;
  /** Delay before retry n: a function, or options of capped full-jitter backoff. @default full jitter, baseMs 50, maxMs 1_000 */
  backoff?: Backoff | BackoffOptions;
  /** Retry budget shared by every call through this policy, its options, or `false` for none. @default new RetryBudget() */
  budget?: RetryBudget | RetryBudgetOptions | false;
  /** Whether an error may be retried. Aborts are never retried. @default every error */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** A delay the failed attempt asked for (Retry-After), in ms; the policy waits at least that long. @default none */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** Called before each retry's wait. @default none */
  onRetry?: (info: RetryInfo) => void;
  /** Time source (tests inject a fake one). @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link RetryPolicyOptions}.
 *
 * @example
 * ```ts
 * console.log(RETRY_POLICY_DEFAULTS);
 * ```
 */
export const RETRY_POLICY_DEFAULTS = {
  /** Attempts in all, the first included. */
  maxAttempts: 3,
  /** Full-jitter backoff. */
  backoff: {
    /** Delay scale of the first retry, ms. */
    baseMs: 50,
    /** Largest delay, ms. */
    maxMs: 1_000,
  },
} as const;

const checkOptions = optionsChecker({
  where: 'RetryPolicy options',
  keys: ['maxAttempts', 'backoff', 'budget', 'shouldRetry', 'retryAfterMs', 'onRetry', 'clock'],
  hints: {
    retries: 'maxAttempts',
    attempts: 'maxAttempts',
    maxRetries: 'maxAttempts',
    retryBudget: 'budget',
  },
  bareNumber: 'maxAttempts',
});

/** Set by the static block of {@link RetryPolicy}: its retry loop, for {@link retryAfterFirstFailure}. */
let continueAfter: <T>(
  policy: RetryPolicy,
  fn: (context: RetryContext) => PromiseLike<T> | T,
  firstError: unknown,
  signal: AbortSignal,
  deadlineAt: number | undefined,
) => Promise<T>;

/**
 * Retries failed executions with capped exponential backoff and full jitter,
 * under a {@link RetryBudget}, within an optional deadline. A retry that
 * could not start before the deadline (backoff or `Retry-After` too long) is
 * not attempted: the last error is thrown at once. A retry refused by the
 * budget throws {@link RetryBudgetExhaustedError} with the last error as
 * `cause`. The backoff sleep honours the signal.
 *
 * @example
 * ```ts
 * const retry = new RetryPolicy({ maxAttempts: 3, shouldRetry: (err) => isTransient(err) });
 * const data = await retry.execute(({ signal }) => axios.get(url, { signal }));
 * ```
 */
export class RetryPolicy implements Policy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The retry budget, if any. */
  readonly budget: RetryBudget | undefined;
  readonly #backoff: Backoff;
  readonly #shouldRetry: (error: unknown, attempt: number) => boolean;
  readonly #retryAfterMs: ((error: unknown) => number | undefined) | undefined;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #clock: Clock;

  constructor(options: RetryPolicyOptions = {}) {
    checkOptions(options);
    options ??= {};
    for (const name of ['shouldRetry', 'retryAfterMs', 'onRetry'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw new InvalidOptionsError(`${name} must be a function`, { option: name });
      }
    }
    clockOption(options.clock);
    const maxAttempts = options.maxAttempts ?? RETRY_POLICY_DEFAULTS.maxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw new InvalidOptionsError('maxAttempts must be an integer in [1, 100]', { option: 'maxAttempts' });
    }
    this.maxAttempts = maxAttempts;
    const backoff = options.backoff ?? RETRY_POLICY_DEFAULTS.backoff;
    this.#backoff = typeof backoff === 'function' ? backoff : fullJitterBackoff(backoff);
    const budget = options.budget ?? {};
    this.budget =
      budget === false ? undefined : budget instanceof RetryBudget ? budget : new RetryBudget(budget);
    this.#shouldRetry = options.shouldRetry ?? (() => true);
    this.#retryAfterMs = options.retryAfterMs;
    this.#onRetry = options.onRetry;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Runs `fn` until it succeeds, an error is not retryable, attempts or
   * budget run out, or the deadline (`deadlineAt`, epoch ms of
   * `clock.now()`) leaves no time for the next attempt.
   */
  execute<T>(
    fn: (context: RetryContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
    deadlineAt?: number,
  ): Promise<T> {
    try {
      checkExecuteArguments('RetryPolicy.execute()', fn, signal);
      if (deadlineAt !== undefined && (typeof deadlineAt !== 'number' || Number.isNaN(deadlineAt))) {
        throw new InvalidArgumentError('RetryPolicy.execute(): deadlineAt must be epoch milliseconds', {
          argument: 'deadlineAt',
        });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const ownSignal = signal ?? NEVER_ABORTED;
    if (ownSignal.aborted) return Promise.reject(abortedError(ownSignal));
    this.budget?.recordRequest();
    // The first attempt runs without an extra async frame: the common case is one attempt.
    let first: PromiseLike<T> | T;
    try {
      first = fn({ signal: ownSignal, attempt: 1 });
    } catch (err) {
      first = Promise.reject(err);
    }
    return Promise.resolve(first).then(undefined, (err: unknown) =>
      this.#continueAfter(fn, err, ownSignal, deadlineAt),
    );
  }

  static {
    continueAfter = (policy, fn, firstError, signal, deadlineAt) =>
      policy.#continueAfter(fn, firstError, signal, deadlineAt);
  }

  /** What {@link execute} does after its first attempt failed with `firstError`. */
  async #continueAfter<T>(
    fn: (context: RetryContext) => PromiseLike<T> | T,
    firstError: unknown,
    signal: AbortSignal,
    deadlineAt: number | undefined,
  ): Promise<T> {
    let err = firstError;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted || isAborted(err)) throw err;
      if (attempt >= this.maxAttempts || !this.#shouldRetry(err, attempt)) throw err;
      let delayMs = this.#backoff(attempt - 1);
      const asked = this.#retryAfterMs?.(err);
      if (asked !== undefined && asked > delayMs) delayMs = Math.ceil(asked);
      if (deadlineAt !== undefined && this.#clock.now() + delayMs >= deadlineAt) throw err;
      if (this.budget !== undefined && !this.budget.tryRetry()) {
        throw new RetryBudgetExhaustedError('retry budget exhausted: not retrying', { cause: err });
      }
      this.#onRetry?.({ attempt: attempt + 1, delayMs, error: err });
      if (delayMs > 0) await sleep(delayMs, { signal });
      if (signal.aborted) throw abortedError(signal);
      try {
        return await fn({ signal, attempt: attempt + 1 });
      } catch (next) {
        err = next;
      }
    }
  }
}

/**
 * What `policy.execute(fn, signal, deadlineAt)` does after its first
 * attempt failed with `firstError` (retries under the policy's rules), for
 * a caller that ran the first attempt itself after
 * `policy.budget?.recordRequest()`: the client does, which saves a promise
 * hop per call. Not part of the public API (`RetryPolicy.continueAfter` of
 * earlier versions was only this).
 *
 * @internal
 */
export function retryAfterFirstFailure<T>(
  policy: RetryPolicy,
  fn: (context: RetryContext) => PromiseLike<T> | T,
  firstError: unknown,
  signal: AbortSignal,
  deadlineAt: number | undefined,
): Promise<T> {
  return continueAfter(policy, fn, firstError, signal, deadlineAt);
}

function isAborted(err: unknown): boolean {
  return err instanceof AbortedError || isScaleoutError(err, 'ERR_ABORTED');
}
