import { describe, expectTypeOf, it } from 'vitest';
import * as scaleout from '../../src/index.js';
import {
  type Bulkhead,
  CircuitBreaker,
  type Policy,
  RetryPolicy,
  TimeoutPolicy,
  wrap,
} from '../../src/index.js';

describe('resilience types', () => {
  it('every policy is a Policy, and wrap composes them into one', () => {
    expectTypeOf<RetryPolicy>().toExtend<Policy>();
    expectTypeOf<CircuitBreaker>().toExtend<Policy>();
    expectTypeOf<Bulkhead>().toExtend<Policy>();
    expectTypeOf<TimeoutPolicy>().toExtend<Policy>();
    const policy = wrap(new RetryPolicy(), new CircuitBreaker(), new TimeoutPolicy({ timeoutMs: 100 }));
    expectTypeOf(policy.execute(() => 1)).toEqualTypeOf<Promise<number>>();
  });

  it('RetryPolicy has no continueAfter: it left the public surface', () => {
    const retry = new RetryPolicy();
    // @ts-expect-error internal to the package (retryAfterFirstFailure, not exported)
    void retry.continueAfter;
    // @ts-expect-error not exported from the package
    void scaleout.retryAfterFirstFailure;
  });
});
