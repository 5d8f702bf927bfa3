import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryLockAdapter } from '../../src/adapters/memory/memory-lock-adapter.js';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { lockAdapterConformance } from '../../src/testing/lock-adapter-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

lockAdapterConformance({
  name: 'memory',
  test,
  create: () => memoryLockAdapter(),
  destroy: (adapter) => adapter.close(),
});

describe('real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  lockAdapterConformance({
    name: 'redis (connection options, owned)',
    test,
    create: () => redisLockAdapter({ connection: server.url, prefix: uniquePrefix('lock') }),
    destroy: (adapter) => adapter.close(),
  });

  lockAdapterConformance({
    name: 'redis (shared client)',
    test,
    create: () => redisLockAdapter({ connection: server.client(), prefix: uniquePrefix('lock') }),
    destroy: (adapter) => adapter.close(),
  });
});
