/**
 * wrap() and the policies are the public composition API (cockatiel's
 * shape): users compose their own resilience around any async work. The
 * ServiceClient does not go through wrap() on its hot path (it runs its
 * own attempt loop on the same policies: RetryPolicy, RetryBudget,
 * CircuitBreaker, Bulkhead).
 */
import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../../src/errors.js';
import { Bulkhead } from '../../../src/resilience/bulkhead.js';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { RetryPolicy } from '../../../src/resilience/retry-policy.js';
import { TimeoutPolicy } from '../../../src/resilience/timeout-policy.js';
import { wrap } from '../../../src/resilience/wrap.js';

const noDelay = () => 0;

describe('wrap', () => {
  it('composes retry, breaker, bulkhead and timeout, outermost first', async () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, openMs: 60_000 });
    const policy = wrap(
      new RetryPolicy({
        maxAttempts: 5,
        backoff: noDelay,
        budget: false,
        shouldRetry: (e) => !(e instanceof CircuitOpenError),
      }),
      breaker,
      new Bulkhead({ maxConcurrent: 1 }),
      new TimeoutPolicy({ timeoutMs: 1_000 }),
    );
    let calls = 0;
    const err = await policy
      .execute(async ({ signal }) => {
        expect(signal).toBeInstanceOf(AbortSignal);
        calls++;
        throw new Error('down');
      })
      .catch((e: unknown) => e);
    // two failures open the breaker; the third attempt fails fast and is not retried
    expect(calls).toBe(2);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(await wrap().execute(() => 7)).toBe(7);
  });

  it("passes the caller's signal to every layer: aborting it ends a call queued in the bulkhead and one running under the timeout", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const policy = wrap(bulkhead, new TimeoutPolicy({ timeoutMs: 60_000 }));
    const ac = new AbortController();
    let sawAbort = false;
    const running = policy
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              sawAbort = true;
              reject(new Error('torn down'));
            });
          }),
        ac.signal,
      )
      .catch((e: unknown) => e);
    const queued = policy.execute(() => 'never runs', ac.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    expect(bulkhead.queued).toBe(1);
    ac.abort();
    expect(await queued).toMatchObject({ code: 'ERR_ABORTED' });
    expect(await running).toMatchObject({ code: 'ERR_ABORTED' });
    expect(sawAbort).toBe(true);
    expect(bulkhead.active).toBe(0);
  });
});
