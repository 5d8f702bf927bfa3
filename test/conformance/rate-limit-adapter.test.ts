import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryRateLimitAdapter } from '../../src/adapters/memory/memory-rate-limit-adapter.js';
import { redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { rateLimitAdapterConformance } from '../../src/testing/rate-limit-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

rateLimitAdapterConformance({
  name: 'memory',
  test,
  create: () => memoryRateLimitAdapter(),
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

  rateLimitAdapterConformance({
    name: 'redis (connection options, owned)',
    test,
    create: () => redisRateLimitAdapter({ connection: server.url, prefix: uniquePrefix('rl') }),
    destroy: (adapter) => adapter.close(),
  });

  rateLimitAdapterConformance({
    name: 'redis (shared client)',
    test,
    create: () => redisRateLimitAdapter({ connection: server.client(), prefix: uniquePrefix('rl') }),
    destroy: (adapter) => adapter.close(),
  });
});
