import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { queueAdapterConformance } from '../../src/testing.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

queueAdapterConformance({
  name: 'redis streams',
  test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
  create: () =>
    redisStreamsQueueAdapter({
      connection: server.url,
      prefix: uniquePrefix('queue'),
      claimIdleMs: 1_000,
      sweepIntervalMs: 50,
      blockMs: 50,
    }),
  redeliveryTimeoutMs: 10_000,
});
