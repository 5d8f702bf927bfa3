// DistributedLock's scenarios that hold on every adapter, over a real
// redis-server: two adapters with their own connections play two processes.
import { afterAll, beforeAll, describe } from 'vitest';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { distributedLockSuite } from './distributed-lock-suite.js';

describe('real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  distributedLockSuite({
    name: 'redis (shared clients)',
    create: () => {
      const prefix = uniquePrefix('lock');
      return [
        redisLockAdapter({ connection: server.client(), prefix }),
        redisLockAdapter({ connection: server.client(), prefix }),
      ];
    },
  });

  distributedLockSuite({
    name: 'redis (connection options, owned)',
    create: () => {
      const prefix = uniquePrefix('lock');
      return [
        redisLockAdapter({ connection: server.url, prefix }),
        redisLockAdapter({ connection: server.url, prefix }),
      ];
    },
  });
});
