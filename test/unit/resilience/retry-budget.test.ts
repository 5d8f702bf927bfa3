import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import { RetryBudget } from '../../../src/resilience/retry-budget.js';
import { fakeClock } from '../../helpers/clock.js';

describe('RetryBudget', () => {
  it('limits retries to ratio of requests once the initial tokens are spent', () => {
    const clock = fakeClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, maxTokens: 10, clock });
    let retries = 0;
    for (let i = 0; i < 1_000; i++) {
      budget.recordRequest();
      if (budget.tryRetry()) retries++;
    }
    // 10 initial tokens + 0.1 per request
    expect(retries).toBeGreaterThanOrEqual(105);
    expect(retries).toBeLessThanOrEqual(111);
  });

  it('earns minRetriesPerSecond over time with no traffic, capped by maxTokens', () => {
    const clock = fakeClock();
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 2, maxTokens: 3, clock });
    while (budget.tryRetry()) {}
    expect(budget.tryRetry()).toBe(false);
    clock.advance(500);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(60_000);
    expect(budget.tokens).toBe(3);
  });

  it('validates its options', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(InvalidOptionsError);
    expect(() => new RetryBudget({ maxTokens: 0.5 })).toThrow(InvalidOptionsError);
  });
});
