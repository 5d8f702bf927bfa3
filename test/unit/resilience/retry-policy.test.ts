import { describe, expect, it } from 'vitest';
import { RetryBudgetExhaustedError } from '../../../src/errors.js';
import { RetryPolicy, retryAfterFirstFailure } from '../../../src/resilience/retry-policy.js';

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

  it('retryAfterFirstFailure goes on after a first attempt the caller ran itself (the client does), under the same rules', async () => {
    const retry = new RetryPolicy({ maxAttempts: 3, backoff: noDelay, budget: false });
    const seen: number[] = [];
    const value = await retryAfterFirstFailure(
      retry,
      ({ attempt }) => {
        seen.push(attempt);
        if (attempt < 3) throw new Error('transient');
        return 'ok';
      },
      new Error('first'),
      new AbortController().signal,
      undefined,
    );
    expect(value).toBe('ok');
    expect(seen).toEqual([2, 3]);
    expect('continueAfter' in retry).toBe(false);
  });
});
