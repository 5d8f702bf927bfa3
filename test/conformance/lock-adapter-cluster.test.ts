import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { DistributedLock } from '../../src/lock/index.js';
import { lockAdapterConformance } from '../../src/testing/lock-adapter-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../helpers/redis-cluster.js';

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

  it('spreads resources over the masters and hands off across clients', async () => {
    const prefix = uniquePrefix('cl-lock');
    const a = new DistributedLock({ adapter: redisLockAdapter({ connection: cluster.client(), prefix }) });
    const b = new DistributedLock({
      adapter: redisLockAdapter({ connection: cluster.client(), prefix }),
      retryMinMs: 60_000,
      retryMaxMs: 60_000,
    });
    const slots = new Set<number>();
    const probe = cluster.client();
    for (let i = 0; i < 20; i++) {
      const lease = await a.acquire(`res-${i}`, { ttlMs: 5_000 });
      slots.add(Number(await probe.cluster('KEYSLOT', `${prefix}{res-${i}}:lock`)));
      await lease.release();
    }
    expect(slots.size).toBeGreaterThan(1);
    const held = await a.acquire('handoff', { ttlMs: 60_000 });
    const waiting = b.acquire('handoff', { waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    await held.release();
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
    await next.release();
    for (const l of [a, b]) {
      await l.adapter.close();
      await l.close();
    }
  });
});
