import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../src/errors.js';
import { TimeoutPolicy } from '../../../src/resilience/timeout-policy.js';

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
