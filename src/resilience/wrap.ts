import { InvalidArgumentError } from '../errors.js';
import { checkExecuteArguments, NEVER_ABORTED, type Policy, type PolicyContext } from './policy.js';

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
  policies.forEach((policy, i) => {
    if (typeof (policy as { execute?: unknown } | null)?.execute !== 'function') {
      throw new InvalidArgumentError(
        `wrap(): argument ${i + 1} is not a policy (an object with execute(fn, signal))`,
        {
          argument: `policies[${i}]`,
        },
      );
    }
  });
  return {
    execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      try {
        checkExecuteArguments('wrap(...).execute()', fn, signal);
      } catch (err) {
        return Promise.reject(err);
      }
      const run = (index: number, context: PolicyContext): Promise<T> => {
        const policy = policies[index];
        if (policy === undefined) return Promise.resolve().then(() => fn(context));
        return policy.execute((inner) => run(index + 1, inner), context.signal);
      };
      return run(0, { signal: signal ?? NEVER_ABORTED });
    },
  };
}
