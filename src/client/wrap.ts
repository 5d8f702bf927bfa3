import { NEVER_ABORTED, type Policy, type PolicyContext } from './policy.js';

/**
 * Composes policies, outermost first: `wrap(retry, breaker, timeout)` retries
 * calls that go through the breaker, each attempt under its own timeout.
 * The signal given to `execute` reaches every layer and the function.
 *
 * @example
 * ```ts
 * const policy = wrap(
 *   new RetryPolicy({ maxAttempts: 3 }),
 *   new CircuitBreaker(),
 *   new TimeoutPolicy({ timeoutMs: 1_000 }),
 * );
 * const data = await policy.execute(({ signal }) => axios.get(url, { signal }));
 * ```
 */
export function wrap(...policies: Policy[]): Policy {
  return {
    execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      const run = (index: number, context: PolicyContext): Promise<T> => {
        const policy = policies[index];
        if (policy === undefined) return Promise.resolve().then(() => fn(context));
        return policy.execute((inner) => run(index + 1, inner), context.signal);
      };
      return run(0, { signal: signal ?? NEVER_ABORTED });
    },
  };
}
