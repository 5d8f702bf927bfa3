import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisIdempotencyStore } from '../../src/adapters/redis/idempotency.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { idempotencyStoreConformance } from '../../src/testing.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../helpers/redis-cluster.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

describe('real 3-master Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  idempotencyStoreConformance({
    name: 'redis Cluster',
    test,
    create: () => redisIdempotencyStore({ connection: cluster.client(), prefix: uniquePrefix('cl-idem') }),
    destroy: (store) => store.close(),
  });

  it('spreads records over the masters: one hash tag per key', async () => {
    const store = redisIdempotencyStore({ connection: cluster.client(), prefix: uniquePrefix('cl-idem') });
    const probe = cluster.client();
    const slots = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const key = `order-${i}`;
      expect((await store.claim({ key, owner: 'o', fingerprint: '', leaseMs: 10_000 })).status).toBe(
        'claimed',
      );
      expect(await store.complete({ key, owner: 'o', fingerprint: '', response: 'r', ttlMs: 10_000 })).toBe(
        true,
      );
      slots.add(Number(await probe.cluster('KEYSLOT', store.keyOf(key))));
    }
    expect(slots.size).toBeGreaterThan(1);
    const owners = new Set<string>();
    for (const node of probe.nodes('master')) {
      const [, keys] = await node.scan('0', 'MATCH', `${store.prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) owners.add(`${node.options.port}`);
    }
    expect(owners.size).toBeGreaterThan(1);
    await store.close();
  });
});
