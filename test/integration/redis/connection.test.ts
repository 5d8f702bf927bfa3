import { AsyncLocalStorage } from 'node:async_hooks';
import { Cluster, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import {
  type RedisConnection,
  redisCacheAdapter,
  redisIdempotencyStore,
  redisJwtDenylist,
  redisLockAdapter,
  redisRateLimitAdapter,
  redisRegistryAdapter,
  redisSessionAdapter,
  redisStreamsQueueAdapter,
  redlockAdapter,
} from '../../../src/redis.js';
import { collected, weaklyHeld } from '../../helpers/gc.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('RedisConnectionHandle.duplicate(): subscriber connections keep no request alive', () => {
  it("the lock adapter's subscriber, opened by a request's onRelease(), does not retain its context", async () => {
    const als = new AsyncLocalStorage<object>();
    const adapter = redisLockAdapter({ connection: server.url, prefix: uniquePrefix('ctx') });
    try {
      const ref = await weaklyHeld((request) =>
        als.run(request, async () => {
          const sub = await adapter.onRelease('r', 1, () => {});
          await sub.unsubscribe();
        }),
      );
      // The subscriber connection stays open for later subscriptions; the request is over.
      expect(await collected(ref)).toBe(true);
    } finally {
      await adapter.close();
    }
  });

  it("the registry adapter's subscriber, opened by a request's subscribe(), does not retain its context", async () => {
    const als = new AsyncLocalStorage<object>();
    const adapter = redisRegistryAdapter({ connection: server.url, prefix: uniquePrefix('ctx') });
    try {
      const ref = await weaklyHeld((request) =>
        als.run(request, async () => {
          const subscription = await adapter.subscribe('svc', () => {});
          await subscription.unsubscribe();
        }),
      );
      expect(await collected(ref)).toBe(true);
    } finally {
      await adapter.close();
    }
  });
});

describe('a connection with an ioredis keyPrefix is refused by every Redis adapter', () => {
  /** Each adapter factory, given one connection; what it returns has close(). */
  const factories: Array<[string, (connection: RedisConnection) => { close(): Promise<void> }]> = [
    ['redisCacheAdapter', (connection) => redisCacheAdapter({ connection })],
    ['redisSessionAdapter', (connection) => redisSessionAdapter({ connection })],
    ['redisLockAdapter', (connection) => redisLockAdapter({ connection })],
    ['redlockAdapter', (connection) => redlockAdapter({ connections: [connection] })],
    ['redisRateLimitAdapter', (connection) => redisRateLimitAdapter({ connection })],
    ['redisRegistryAdapter', (connection) => redisRegistryAdapter({ connection })],
    ['redisIdempotencyStore', (connection) => redisIdempotencyStore({ connection })],
    ['redisStreamsQueueAdapter', (connection) => redisStreamsQueueAdapter({ connection })],
    ['redisJwtDenylist', (connection) => redisJwtDenylist({ connection })],
  ];
  const lazy: RedisOptions = { lazyConnect: true };

  it.each(factories)('%s refuses a client, options, a URL and a Cluster with keyPrefix', async (_, make) => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], {
      lazyConnect: true,
      redisOptions: { keyPrefix: 'app:' },
    });
    const refused: RedisConnection[] = [
      server.client({ ...lazy, keyPrefix: 'app:' }),
      { host: '127.0.0.1', port: server.port, keyPrefix: 'app:' },
      `${server.url}?keyPrefix=app:`,
      cluster,
    ];
    try {
      for (const connection of refused) {
        let error: unknown;
        try {
          await make(connection).close();
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(InvalidOptionsError);
        expect(error).toMatchObject({ option: 'connection', suggestion: 'prefix' });
        expect((error as Error).message).toMatch(/keyPrefix.*SCAN.*prefix option/s);
      }
      // The same connections without keyPrefix (or with an empty one) are taken.
      await make(server.client(lazy)).close();
      await make(server.client({ ...lazy, keyPrefix: '' })).close();
      await make({ host: '127.0.0.1', port: server.port, lazyConnect: true }).close();
    } finally {
      cluster.disconnect();
    }
  });
});
