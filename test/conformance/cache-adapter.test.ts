import RedisMock from 'ioredis-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryCacheAdapter } from '../../src/adapters/memory/index.js';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { cacheAdapterConformance } from '../../src/testing.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

cacheAdapterConformance({
  name: 'memory',
  test,
  create: () => memoryCacheAdapter(),
  destroy: (adapter) => adapter.close(),
});

cacheAdapterConformance({
  name: 'redis (ioredis-mock)',
  test,
  create: () => redisCacheAdapter({ connection: new RedisMock() as never, prefix: uniquePrefix('mock') }),
  destroy: (adapter) => adapter.close(),
});

describe('real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  cacheAdapterConformance({
    name: 'redis (real server)',
    test,
    create: () => redisCacheAdapter({ connection: server.client(), prefix: uniquePrefix('cache') }),
    destroy: async (adapter) => {
      await deleteKeysWithPrefix(adapter.client as never, adapter.prefix);
      await adapter.close();
    },
  });
});
