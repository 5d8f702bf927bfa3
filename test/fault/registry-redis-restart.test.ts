import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRegistryAdapter } from '../../src/adapters/redis/registry.js';
import { isScaleoutError } from '../../src/errors.js';
import { ServiceRegistry, type ServiceRegistryEvents } from '../../src/registry/service-registry.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

describe('ServiceRegistry when Redis restarts empty', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('instances register again on their own and every view converges (no registration lost for good)', async () => {
    const prefix = uniquePrefix('registry-restart');
    const ownerAdapter = redisRegistryAdapter({ connection: redis.url, prefix });
    const watcherAdapter = redisRegistryAdapter({ connection: redis.url, prefix });
    const owner = new ServiceRegistry({ adapter: ownerAdapter, ttlMs: 900, operationTimeoutMs: 300 });
    const watcher = new ServiceRegistry({ adapter: watcherAdapter, operationTimeoutMs: 300 });
    const leases: ServiceRegistryEvents['lease'][] = [];
    owner.on('lease', (e) => leases.push(e));
    try {
      const urls = ['http://127.0.0.1:4101/', 'http://127.0.0.1:4102/', 'http://127.0.0.1:4103/'];
      for (const url of urls) await owner.register('orders', url);
      await watcher.watch('orders');
      expect((await watcher.instances('orders')).map((i) => i.id)).toEqual(urls);

      await redis.kill(); // every key is gone with it
      // While it is down: typed errors for calls that need it, the view keeps serving.
      const err = await owner.register('orders', 'http://127.0.0.1:4199/').catch((e: unknown) => e);
      expect(isScaleoutError(err)).toBe(true);
      await new Promise((r) => setTimeout(r, 1200));
      expect(new Set(Array.from({ length: 30 }, () => watcher.pick('orders').id)).size).toBe(3);
      await redis.restart();

      await until(
        'three renewed leases',
        () => leases.filter((l) => l.status === 'renewed').length >= 3,
        15_000,
      );
      await until(
        'the watcher to see 3 instances',
        async () => (await watcher.instances('orders')).length === 3,
        15_000,
      );
      expect((await watcher.instances('orders')).map((i) => i.id)).toEqual(urls);
      // The failed registration left nothing behind and can be retried.
      await owner.register('orders', 'http://127.0.0.1:4199/');
      await until(
        'the watcher to see 4 instances',
        async () => (await watcher.instances('orders')).length === 4,
        10_000,
      );
    } finally {
      await owner.close();
      await watcher.close();
      await ownerAdapter.close();
      await watcherAdapter.close();
    }
  }, 60_000);
});
