import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { DistributedLock } from '../../src/lock/index.js';
import { lockAdapterConformance } from '../../src/testing/lock-adapter-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../helpers/redis-cluster.js';
import { distributedLockSuite } from './distributed-lock-suite.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

describe('real 3-master Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  lockAdapterConformance({
    name: 'redis Cluster',
    test,
    create: () => redisLockAdapter({ connection: cluster.client(), prefix: uniquePrefix('cl') }),
    destroy: (adapter) => adapter.close(),
  });

  distributedLockSuite({
    name: 'redis Cluster',
    create: () => {
      const prefix = uniquePrefix('cl-lock');
      return [
        redisLockAdapter({ connection: cluster.client(), prefix }),
        redisLockAdapter({ connection: cluster.client(), prefix }),
      ];
    },
  });

  it('spreads resources over the masters', async () => {
    const prefix = uniquePrefix('cl-lock');
    const a = new DistributedLock({ adapter: redisLockAdapter({ connection: cluster.client(), prefix }) });
    const slots = new Set<number>();
    const probe = cluster.client();
    for (let i = 0; i < 20; i++) {
      const lease = await a.acquire(`res-${i}`, { ttlMs: 5_000 });
      slots.add(Number(await probe.cluster('KEYSLOT', `${prefix}{res-${i}}:lock`)));
      await lease.release();
    }
    expect(slots.size).toBeGreaterThan(1);
    await a.adapter.close();
    await a.close();
  });
});
