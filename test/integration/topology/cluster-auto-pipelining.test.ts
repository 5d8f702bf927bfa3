import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { lockAdapterConformance } from '../../../src/testing/lock-adapter-conformance.js';
import { sessionAdapterConformance } from '../../../src/testing/session-conformance.js';
import type { TestApi } from '../../../src/testing/test-api.js';
import { cacheAdapterConformance } from '../../../src/testing.js';
import { uniquePrefix } from '../../helpers/keys.js';
import {
  deleteOnEveryMaster,
  type RedisClusterFixture,
  startRedisCluster,
} from '../../helpers/redis-cluster.js';

// docs/operations.md suggests `enableAutoPipelining` for a client you pass
// in: the cache, session and lock suites, unchanged, on a 3-master Cluster
// whose ioredis client has it on (commands of one tick travel as one
// pipeline per node; scripts by SHA with their NOSCRIPT fallback).
const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };
let cluster: RedisClusterFixture;
let shared: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  shared = cluster.client({ enableAutoPipelining: true });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('Redis Cluster through a client with enableAutoPipelining', () => {
  cacheAdapterConformance({
    name: 'cache adapter, auto-pipelined Cluster',
    test,
    create: () => redisCacheAdapter({ connection: shared, prefix: uniquePrefix('ap-cache') }),
    destroy: async (adapter) => {
      await deleteOnEveryMaster(shared, adapter.prefix);
      await adapter.close();
    },
  });

  const sessionPrefixes = new Map<RedisSessionAdapter, string>();
  sessionAdapterConformance({
    name: 'session adapter, auto-pipelined Cluster',
    test,
    create: () => {
      const prefix = uniquePrefix('ap-session');
      const adapter = new RedisSessionAdapter({ connection: shared, prefix });
      sessionPrefixes.set(adapter, prefix);
      return adapter;
    },
    destroy: async (adapter) => {
      await deleteOnEveryMaster(shared, sessionPrefixes.get(adapter as RedisSessionAdapter)!);
    },
  });

  lockAdapterConformance({
    name: 'lock adapter, auto-pipelined Cluster',
    test,
    create: () => redisLockAdapter({ connection: shared, prefix: uniquePrefix('ap-lock') }),
    destroy: (adapter) => adapter.close(),
  });

  it('50 session reads and updates in flight across the masters, then destroyAllForUser', async () => {
    const prefix = uniquePrefix('ap-flight');
    const sessions = new SessionStore<{ n: number }>({
      adapter: new RedisSessionAdapter({ connection: shared, prefix }),
    });
    const made = await Promise.all(
      Array.from({ length: 50 }, (_, n) => sessions.create({ n }, { userId: `u${n % 5}` })),
    );
    const expected = made.map((_, n) => n);
    // The reads of one tick travel as ioredis auto-pipelines (one per
    // group of nodes), not as 50 separate writes.
    const pipeline = vi.spyOn(shared, 'pipeline');
    const read = await Promise.all(made.map((s) => sessions.get(s.id)));
    const pipelines = pipeline.mock.calls.length;
    pipeline.mockRestore();
    expect(read.map((s) => s?.data.n)).toEqual(expected);
    expect(pipelines).toBeGreaterThan(0);
    expect(pipelines).toBeLessThan(50);
    const updated = await Promise.all(made.map((s) => sessions.update(s.id, (d) => ({ n: d.n + 100 }))));
    expect(updated.map((s) => s.data.n)).toEqual(expected.map((n) => n + 100));
    const removed = await Promise.all([0, 1, 2, 3, 4].map((u) => sessions.destroyAllForUser(`u${u}`)));
    expect(removed).toEqual([10, 10, 10, 10, 10]);
    expect(shared.options.enableAutoPipelining).toBe(true);
    await sessions.close();
    await deleteOnEveryMaster(shared, prefix);
  });
});
