import { isScaleoutError, TimeoutError } from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { SHARED_TIMEOUTS } from '../internal/timeout-queue.js';
import { durationOption, optionsChecker } from '../internal/validate.js';
import { checkExecuteArguments, type Policy, type PolicyContext } from './policy.js';

/**
 * Options of {@link TimeoutPolicy}.
 *
 * @example
 * ```ts
 * const options: TimeoutPolicyOptions = { timeoutMs: 500 };
 * ```
 */
export interface TimeoutPolicyOptions {
  /** Time limit of one execution, in ms. @default 10_000 */
  timeoutMs?: number;
}

/**
 * Defaults of {@link TimeoutPolicyOptions}.
 *
 * @example
 * ```ts
 * console.log(TIMEOUT_POLICY_DEFAULTS);
 * ```
 */
export const TIMEOUT_POLICY_DEFAULTS = {
  /** Time limit of one execution, ms. */
  timeoutMs: 10_000,
} as const;

const checkOptions = optionsChecker({
  where: 'TimeoutPolicy options',
  keys: ['timeoutMs'],
  bareNumber: 'timeoutMs',
});

/**
 * Aborts the signal it passes on after `timeoutMs` and rejects with
 * {@link TimeoutError}. The work is cancelled through the signal (cooperative,
 * like cockatiel's `TimeoutStrategy.Cooperative`), so an aborted HTTP request
 * destroys its socket instead of leaving it busy.
 *
 * @example
 * ```ts
 * const timeout = new TimeoutPolicy({ timeoutMs: 200 });
 * await timeout.execute(({ signal }) => axios.get(url, { signal }));
 * ```
 */
export class TimeoutPolicy implements Policy {
  /** The time limit, in ms. */
  readonly timeoutMs: number;

  constructor(options: TimeoutPolicyOptions = {}) {
    checkOptions(options);
    options ??= {};
    this.timeoutMs = durationOption('timeoutMs', options.timeoutMs ?? TIMEOUT_POLICY_DEFAULTS.timeoutMs);
  }

  /**
   * Runs `fn` with a signal that fires after `timeoutMs` or when `signal`
   * fires. Settles only when `fn` settles (so a slot held by an outer
   * bulkhead or breaker is never freed while the work still runs); if the
   * timer fired first, it rejects with {@link TimeoutError}.
   */
  async execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    checkExecuteArguments('TimeoutPolicy.execute()', fn, signal);
    if (signal?.aborted) throw abortedError(signal);
    const controller = new AbortController();
    const timeoutMs = this.timeoutMs;
    const timeout = new TimeoutError(`operation timed out after ${timeoutMs} ms`, { timeoutMs });
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // On the shared deadline queue (one Node timer for every deadline, unref'd).
    const timer = SHARED_TIMEOUTS.add(timeoutMs, () => controller.abort(timeout));
    try {
      const value = await fn({ signal: controller.signal });
      if (controller.signal.reason === timeout) throw timeout;
      return value;
    } catch (err) {
      if (controller.signal.reason === timeout) throw timeout;
      if (controller.signal.aborted && !isScaleoutError(err)) throw abortedError(controller.signal);
      throw err;
    } finally {
      SHARED_TIMEOUTS.cancel(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
