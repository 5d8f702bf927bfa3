import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { isScaleoutError } from '../../../src/errors.js';
import { DistributedLock } from '../../../src/lock/index.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

// The scenarios that hold on every adapter (hand-off by pub/sub, contending
// callers, semaphores, sharing an adapter) run over Redis in
// test/conformance/distributed-lock.test.ts.

describe('DistributedLock on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails closed when Redis is killed: acquire rejects with a typed error and grants nothing', async () => {
    const down = await startRedisServer();
    const locks = new DistributedLock({
      adapter: redisLockAdapter({
        connection: { host: '127.0.0.1', port: down.port, maxRetriesPerRequest: 1, retryStrategy: () => 100 },
        prefix: uniquePrefix('down'),
      }),
      operationTimeoutMs: 2_000,
    });
    const lease = await locks.acquire('r', { ttlMs: 5_000 });
    await down.kill();
    const results = await Promise.allSettled([
      locks.acquire('other', { waitMs: 1_000 }),
      locks.tryAcquire('third'),
      locks.withLock('fourth', () => 'ran'),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason;
      expect(isScaleoutError(reason, 'ERR_CONNECTION') || isScaleoutError(reason, 'ERR_TIMEOUT')).toBe(true);
    }
    await expect(lease.extend()).rejects.toSatisfy((e: unknown) => isScaleoutError(e));
    expect(lease.signal.aborted).toBe(true);
    await locks.adapter.close();
    await locks.close();
    await down.stop();
  });
});
