import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { MemorySessionAdapter } from '../../src/adapters/memory/memory-session-adapter.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import { sessionAdapterConformance } from '../../src/testing/session-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

sessionAdapterConformance({ name: 'memory', test, create: () => new MemorySessionAdapter() });

describe('redis', () => {
  let server: RedisServer;
  const prefixes = new Map<RedisSessionAdapter, string>();
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  sessionAdapterConformance({
    name: 'redis (real redis-server)',
    test,
    create: () => {
      const prefix = uniquePrefix('session');
      const adapter = new RedisSessionAdapter({ connection: server.client(), prefix });
      prefixes.set(adapter, prefix);
      return adapter;
    },
    destroy: async (adapter) => {
      const admin = server.client();
      await deleteKeysWithPrefix(admin, prefixes.get(adapter as RedisSessionAdapter)!);
      admin.disconnect();
    },
  });
});
