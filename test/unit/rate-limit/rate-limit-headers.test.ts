import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../../src/rate-limit/rate-limit-headers.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { fakeClock } from '../../helpers/clock.js';

describe('rateLimitHeaders (draft-ietf-httpapi-ratelimit-headers, Structured Fields lists)', () => {
  it('lists every policy in RateLimit-Policy and its state in RateLimit; no Retry-After while allowed', async () => {
    const limiter = new RateLimiter({
      clock: fakeClock(1_699_999_200_000), // on an hour boundary
      name: 'api',
      limits: [
        { limit: 10, windowMs: 1_000, name: 'burst' },
        { limit: 1_000, windowMs: 3_600_000, algorithm: 'fixed-window', name: 'hourly' },
      ],
    });
    const headers = rateLimitHeaders(await limiter.consume('k'));
    expect(headers).toEqual({
      'ratelimit-policy': '"burst";q=10;w=1, "hourly";q=1000;w=3600',
      ratelimit: '"burst";r=9;t=1, "hourly";r=999;t=3600',
    });
    await limiter.close();
  });

  it('adds Retry-After in whole seconds, rounded up, at least 1', async () => {
    const limiter = new RateLimiter({
      clock: fakeClock(1_700_000_000_000),
      limits: { limit: 2, windowMs: 2_500 },
    });
    await limiter.consume('k');
    await limiter.consume('k');
    const denied = await limiter.consume('k');
    expect(denied.retryAfterMs).toBe(1_250);
    const headers = rateLimitHeaders(denied);
    expect(headers['retry-after']).toBe('2');
    expect(headers['ratelimit-policy']).toBe('"default";q=2;w=3');
    expect(headers.ratelimit).toBe('"default";r=0;t=3');
    expect(rateLimitHeaders({ ...denied, retryAfterMs: 1 })['retry-after']).toBe('1');
    await limiter.close();
  });

  it('refuses a decision whose policies are sparse or empty with a typed error (a hostile-suite counterexample)', async () => {
    const limiter = new RateLimiter({ limits: { limit: 5, windowMs: 1_000 } });
    const decision = await limiter.consume('k');
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    for (const policies of [[,], [], [decision.policies[0], ,]]) {
      expect(() => rateLimitHeaders({ ...decision, retryAfterMs: -0, policies } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
    await limiter.close();
  });
});
