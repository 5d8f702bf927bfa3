import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter, redisRegistryAdapter } from '../../../src/redis.js';
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
