import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { isScaleoutError } from '../../../src/errors.js';
import { DistributedLock, DistributedSemaphore } from '../../../src/lock/index.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('DistributedLock on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('wakes a waiter on another connection by pub/sub, not by polling', async () => {
    const prefix = uniquePrefix('wake');
    const a = new DistributedLock({ adapter: redisLockAdapter({ connection: server.client(), prefix }) });
    const b = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.client(), prefix }),
      retryMinMs: 60_000,
      retryMaxMs: 60_000,
    });
    const held = await a.acquire('r', { ttlMs: 60_000 });
    const waiting = b.acquire('r', { waitMs: 20_000 });
    await delay(100);
    await held.release();
    const lease = await waiting;
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
    await lease.release();
    await a.close();
    await b.close();
    await a.adapter.close();
    await b.adapter.close();
  });

  it('serves 30 contending withLock calls one at a time with strictly growing fencing tokens', async () => {
    const prefix = uniquePrefix('contend');
    const locks = [0, 1, 2].map(
      () =>
        new DistributedLock({
          adapter: redisLockAdapter({ connection: server.url, prefix }),
          waitMs: 20_000,
        }),
    );
    let inside = 0;
    let overlap = 0;
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        locks[i % 3]!.withLock('r', async (lease) => {
          inside += 1;
          if (inside > 1) overlap += 1;
          seen.push(lease.fencingToken);
          await delay(1);
          inside -= 1;
        }),
      ),
    );
    expect(overlap).toBe(0);
    expect(seen).toHaveLength(30);
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
    for (const l of locks) {
      await l.adapter.close();
      await l.close();
    }
  });

  it('semaphore on Redis: at most `limit` holders across connections', async () => {
    const prefix = uniquePrefix('sem');
    const sems = [0, 1].map(
      () =>
        new DistributedSemaphore({
          adapter: redisLockAdapter({ connection: server.url, prefix }),
          limit: 2,
          waitMs: 20_000,
        }),
    );
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sems[i % 2]!.withLock('pool', async () => {
          running += 1;
          peak = Math.max(peak, running);
          await delay(10);
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(2);
    for (const s of sems) {
      await s.adapter.close();
      await s.close();
    }
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
