import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryIdempotencyStore } from '../../src/adapters/memory/memory-idempotency-store.js';
import { redisIdempotencyStore } from '../../src/adapters/redis/idempotency.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { idempotencyStoreConformance } from '../../src/testing.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

idempotencyStoreConformance({
  name: 'memory',
  test,
  create: () => memoryIdempotencyStore(),
  destroy: (store) => store.close(),
});

describe('real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  idempotencyStoreConformance({
    name: 'redis (connection URL, owned)',
    test,
    create: () => redisIdempotencyStore({ connection: server.url, prefix: uniquePrefix('idem') }),
    destroy: (store) => store.close(),
  });

  idempotencyStoreConformance({
    name: 'redis (shared client)',
    test,
    create: () => redisIdempotencyStore({ connection: server.client(), prefix: uniquePrefix('idem') }),
    destroy: (store) => store.close(),
  });
});
