import { describe, expect, it } from 'vitest';
import { readDeadline } from '../../../src/client/deadline.js';
import { parseRetryAfterMs } from '../../../src/client/retry-after.js';
import { CircuitOpenError, RetryBudgetExhaustedError, TimeoutError } from '../../../src/errors.js';
import { Bulkhead } from '../../../src/resilience/bulkhead.js';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { RetryPolicy } from '../../../src/resilience/retry-policy.js';
import { TimeoutPolicy } from '../../../src/resilience/timeout-policy.js';
import { wrap } from '../../../src/resilience/wrap.js';

const noDelay = () => 0;

describe('RetryPolicy', () => {
  it('retries up to maxAttempts and returns the first success', async () => {
    const retry = new RetryPolicy({ maxAttempts: 3, backoff: noDelay, budget: false });
    const seen: number[] = [];
    const value = await retry.execute(({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error('transient');
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('does not retry what shouldRetry refuses, nor an abort', async () => {
    let calls = 0;
    const retry = new RetryPolicy({ backoff: noDelay, budget: false, shouldRetry: () => false });
    await expect(
      retry.execute(() => {
        calls++;
        throw new Error('permanent');
      }),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
    const ac = new AbortController();
    const r2 = new RetryPolicy({ backoff: () => 10_000, budget: false });
    const pending = r2.execute(() => {
      throw new Error('x');
    }, ac.signal);
    setTimeout(() => ac.abort(), 5);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('throws RetryBudgetExhaustedError with the last error as cause when the budget is empty', async () => {
    const retry = new RetryPolicy({
      maxAttempts: 5,
      backoff: noDelay,
      budget: { ratio: 0, minRetriesPerSecond: 0, maxTokens: 0 },
    });
    const cause = new Error('503');
    const err = await retry
      .execute(() => {
        throw cause;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryBudgetExhaustedError);
    expect((err as Error).cause).toBe(cause);
  });

  it('waits at least Retry-After, and gives up at once when that would pass the deadline', async () => {
    const delays: number[] = [];
    const retry = new RetryPolicy({
      maxAttempts: 2,
      backoff: noDelay,
      budget: false,
      retryAfterMs: () => 30,
      onRetry: (i) => delays.push(i.delayMs),
    });
    let calls = 0;
    await retry.execute(() => {
      if (++calls === 1) throw new Error('429');
      return 1;
    });
    expect(delays).toEqual([30]);
    calls = 0;
    const started = Date.now();
    await expect(
      retry.execute(
        () => {
          calls++;
          throw new Error('429 again');
        },
        undefined,
        Date.now() + 20,
      ),
    ).rejects.toThrow('429 again');
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('TimeoutPolicy', () => {
  it('aborts the signal and rejects with TimeoutError, settling only when the work settles', async () => {
    const timeout = new TimeoutPolicy({ timeoutMs: 20 });
    let sawAbort = false;
    const err = await timeout
      .execute(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              sawAbort = true;
              setTimeout(() => reject(new Error('cancelled')), 5);
            });
          }),
      )
      .catch((e: unknown) => e);
    expect(sawAbort).toBe(true);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(20);
  });
});

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
});

describe('parseRetryAfterMs / readDeadline', () => {
  it('reads seconds and HTTP dates; ignores junk', () => {
    expect(parseRetryAfterMs('2')).toBe(2_000);
    expect(parseRetryAfterMs(['1'])).toBe(1_000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5_000);
    expect(parseRetryAfterMs(new Date(1_000).toUTCString(), 5_000)).toBe(0);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });

  it('turns the relative deadline header into an absolute deadline', () => {
    expect(readDeadline({ headers: { 'x-request-deadline-ms': '250' } }, 1_000)).toBe(1_250);
    expect(readDeadline({ headers: new Headers({ 'x-request-deadline-ms': '0' }) }, 1_000)).toBe(1_000);
    expect(readDeadline({ headers: { 'x-request-deadline-ms': '-5' } }, 1_000)).toBeUndefined();
    expect(readDeadline({ headers: { 'x-request-deadline-ms': 'abc' } }, 1_000)).toBeUndefined();
    expect(readDeadline({ headers: {} }, 1_000)).toBeUndefined();
  });
});
