import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryRegistryAdapter } from '../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../src/adapters/redis/registry.js';
import { registryAdapterConformance } from '../../src/testing/registry-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

registryAdapterConformance({
  name: 'memory',
  test,
  create: () => memoryRegistryAdapter(),
  destroy: (adapter) => adapter.close(),
});

describe('redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const prefixes: string[] = [];
  registryAdapterConformance({
    name: 'redis (real redis-server)',
    test,
    create: () => {
      const prefix = uniquePrefix('registry');
      prefixes.push(prefix);
      return redisRegistryAdapter({ connection: server.url, prefix });
    },
    destroy: async (adapter) => {
      await adapter.close();
      const prefix = prefixes.pop();
      if (prefix !== undefined) await deleteKeysWithPrefix(server.client(), prefix);
    },
  });
});
