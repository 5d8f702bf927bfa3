import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { rateLimitAdapterConformance } from '../../src/testing/rate-limit-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../helpers/redis-cluster.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

describe('real 3-master Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  let shared: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    shared = cluster.client();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  rateLimitAdapterConformance({
    name: 'redis Cluster',
    test,
    create: () => redisRateLimitAdapter({ connection: shared, prefix: uniquePrefix('cl-rl') }),
    destroy: (adapter) => adapter.close(),
  });

  it('spreads keys over the masters, and keeps the limits of one key in one slot', async () => {
    const prefix = uniquePrefix('cl-rl');
    const adapter = redisRateLimitAdapter({ connection: shared, prefix });
    const limiter = new RateLimiter({
      adapter,
      limits: [
        { limit: 5, windowMs: 1_000 },
        { limit: 100, windowMs: 60_000, algorithm: 'sliding-window' },
        { limit: 50, windowMs: 60_000, algorithm: 'fixed-window' },
      ],
    });
    const slotsOfAll = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const decision = await limiter.consume(`user-${i}`);
      expect(decision.allowed).toBe(true);
      const keys = adapter.keysOf(`default:user-${i}`, limiter.policies);
      const slots = new Set(
        await Promise.all(keys.map(async (k) => Number(await shared.cluster('KEYSLOT', k)))),
      );
      expect(slots.size).toBe(1);
      for (const s of slots) slotsOfAll.add(s);
      expect(await shared.exists(...keys)).toBe(3);
    }
    const masters = new Set<string>();
    for (const slot of slotsOfAll) {
      const ranges = await shared.cluster('SLOTS');
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      masters.add(`${range[2]![0]}:${range[2]![1]}`);
    }
    expect(masters.size).toBeGreaterThan(1);
    await limiter.close();
    await adapter.close();
  });
});
