import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { registryAdapterConformance } from '../../../src/testing/registry-conformance.js';
import { sessionAdapterConformance } from '../../../src/testing/session-conformance.js';
import type { TestApi } from '../../../src/testing/test-api.js';
import { cacheAdapterConformance, queueAdapterConformance } from '../../../src/testing.js';
import { uniquePrefix } from '../../helpers/keys.js';
import {
  deleteOnEveryMaster,
  type RedisClusterFixture,
  startRedisCluster,
} from '../../helpers/redis-cluster.js';

// One 3-master Cluster for every suite of this file; each adapter gets a
// fresh key prefix and talks to the Cluster through an ioredis `Cluster`.
const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };
let cluster: RedisClusterFixture;
let shared: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  shared = cluster.client();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('Redis Cluster (3 masters) through ioredis Cluster', () => {
  cacheAdapterConformance({
    name: 'cache adapter on Cluster',
    test,
    create: () => redisCacheAdapter({ connection: shared, prefix: uniquePrefix('cache') }),
    destroy: async (adapter) => {
      await deleteOnEveryMaster(shared, adapter.prefix);
      await adapter.close();
    },
  });

  const sessionPrefixes = new Map<RedisSessionAdapter, string>();
  sessionAdapterConformance({
    name: 'session adapter on Cluster',
    test,
    create: () => {
      const prefix = uniquePrefix('session');
      const adapter = new RedisSessionAdapter({ connection: shared, prefix });
      sessionPrefixes.set(adapter, prefix);
      return adapter;
    },
    destroy: async (adapter) => {
      await deleteOnEveryMaster(shared, sessionPrefixes.get(adapter as RedisSessionAdapter)!);
    },
  });

  const registryPrefixes: string[] = [];
  registryAdapterConformance({
    name: 'registry adapter on Cluster',
    test,
    create: () => {
      const prefix = uniquePrefix('registry');
      registryPrefixes.push(prefix);
      return redisRegistryAdapter({ connection: shared, prefix });
    },
    destroy: async (adapter) => {
      await adapter.close();
      const prefix = registryPrefixes.pop();
      if (prefix !== undefined) await deleteOnEveryMaster(shared, prefix);
    },
  });

  queueAdapterConformance({
    name: 'streams queue adapter on Cluster',
    test,
    create: () =>
      redisStreamsQueueAdapter({
        connection: shared,
        prefix: uniquePrefix('queue'),
        claimIdleMs: 1_000,
        sweepIntervalMs: 50,
        blockMs: 50,
      }),
    redeliveryTimeoutMs: 10_000,
  });
});
