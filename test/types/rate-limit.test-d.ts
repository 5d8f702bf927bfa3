import { describe, expectTypeOf, it } from 'vitest';
import { rateLimit as expressRateLimit } from '../../src/express.js';
import {
  memoryRateLimitAdapter,
  type RateLimitAdapter,
  type RateLimitDecision,
  RateLimiter,
  type RateLimiterEvents,
  rateLimitNode,
} from '../../src/index.js';
import { redisRateLimitAdapter } from '../../src/redis.js';

describe('RateLimiter types', () => {
  const limiter = new RateLimiter({ limits: { limit: 5, windowMs: 1_000 } });

  it('answers decisions; a denial is a value, not an error', () => {
    expectTypeOf(limiter.consume('k')).toEqualTypeOf<Promise<RateLimitDecision>>();
    expectTypeOf(limiter.peek('k')).toEqualTypeOf<Promise<RateLimitDecision>>();
    expectTypeOf(limiter.refund('k', 2)).toEqualTypeOf<Promise<void>>();
    expectTypeOf<RateLimitDecision['source']>().toEqualTypeOf<'adapter' | 'insurance'>();
  });

  it('types event payloads, and on() returns the unsubscribe function', () => {
    const off = limiter.on('recovered', (e) => expectTypeOf(e.downMs).toEqualTypeOf<number>());
    expectTypeOf(off).toEqualTypeOf<() => void>();
    limiter.on('error', (e) =>
      expectTypeOf(e.operation).toEqualTypeOf<RateLimiterEvents['error']['operation']>(),
    );
    // @ts-expect-error not an event of the limiter
    limiter.on('hit', () => {});
  });

  it('refuses the shapes other limiters take', () => {
    // @ts-expect-error limits is required
    new RateLimiter({});
    // @ts-expect-error a bare number is not a limit
    new RateLimiter({ limits: 100 });
    // @ts-expect-error the cost goes in an options object
    limiter.consume('k', 3);
    // @ts-expect-error no such algorithm
    new RateLimiter({ limits: { limit: 1, windowMs: 1, algorithm: 'leaky-bucket' } });
  });

  it('adapters implement the contract', () => {
    expectTypeOf(memoryRateLimitAdapter()).toMatchTypeOf<RateLimitAdapter>();
    expectTypeOf(redisRateLimitAdapter).parameter(0).toHaveProperty('connection');
    expectTypeOf(rateLimitNode({ limiter })).returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(expressRateLimit({ limiter, key: (req) => req.ip })).toBeFunction();
  });
});
