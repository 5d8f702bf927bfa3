import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { startWorker, startWorkers, type WorkerProcess } from '../../helpers/workers.js';
import type { CacheCommand, CacheReply } from './cache-worker.js';

const workerPath = fileURLToPath(new URL('./cache-worker.ts', import.meta.url));

type CacheWorker = WorkerProcess<{ closed: true }, CacheReply, CacheCommand>;
type Query = Exclude<CacheCommand, { cmd: 'close' }>;

/** Sends `command` and takes the worker's reply to it. */
async function ask<C extends Query>(
  worker: CacheWorker,
  command: C,
): Promise<Extract<CacheReply, { type: C['cmd'] }>> {
  worker.send(command);
  return (await worker.next((m) => m.type === command.cmd)) as Extract<CacheReply, { type: C['cmd'] }>;
}

describe('DistributedCache across OS processes on a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = server.client();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('8 processes x 200 concurrent getOrSet on one cold key run the loader exactly once', async () => {
    const prefix = uniquePrefix('stampede');
    const workers = await startWorkers<{ closed: true }, CacheReply, CacheCommand>(workerPath, 8, {
      env: { REDIS_URL: server.url, PREFIX: prefix },
    });
    try {
      workers.go();
      const results = await Promise.all(
        workers.workers.map((w) =>
          ask(w, { cmd: 'stampede', key: 'product:42', callers: 200, loaderMs: 300 }),
        ),
      );
      const values = results.flatMap((r) => r.values);
      expect(values).toHaveLength(8 * 200);
      expect(await admin.get(`${prefix}loader-calls`)).toBe('1');
      // Every caller in every process got the one loaded value.
      expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
      for (let i = 0; i < 8; i++) workers.send(i, { cmd: 'close' });
      expect(await workers.results()).toEqual(Array.from({ length: 8 }, () => ({ closed: true })));
    } finally {
      workers.kill();
      await deleteKeysWithPrefix(admin, prefix);
    }
  }, 90_000);

  it("a set in this process evicts the key from another process's L1", async () => {
    const prefix = uniquePrefix('l1bus');
    const worker: CacheWorker = await startWorker(workerPath, {
      env: { REDIS_URL: server.url, PREFIX: prefix },
    });
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
    });
    try {
      worker.go();
      await cache.ready();
      // The other process loads the value itself, so its L1 holds it and no
      // message from this process is in flight that could evict it late.
      expect((await ask(worker, { cmd: 'getOrSet', key: 'user:1', value: { name: 'v1' } })).value).toEqual({
        name: 'v1',
      });
      expect((await ask(worker, { cmd: 'get', key: 'user:1' })).value).toEqual({ name: 'v1' });
      // Changed behind the cache's back (no bus message): the other process still serves its L1 copy.
      await admin.set(`${prefix}v:user:1`, JSON.stringify({ name: 'behind' }));
      expect((await ask(worker, { cmd: 'get', key: 'user:1' })).value).toEqual({ name: 'v1' });
      // A set through the cache publishes the eviction.
      await cache.set('user:1', { name: 'v2' });
      let seen: unknown;
      const deadline = Date.now() + 10_000;
      do {
        seen = (await ask(worker, { cmd: 'get', key: 'user:1' })).value;
      } while (JSON.stringify(seen) !== JSON.stringify({ name: 'v2' }) && Date.now() < deadline);
      expect(seen).toEqual({ name: 'v2' });
      await cache.delete('user:1');
      const until = Date.now() + 10_000;
      do {
        seen = (await ask(worker, { cmd: 'get', key: 'user:1' })).value;
      } while (seen !== null && Date.now() < until);
      expect(seen).toBeNull();
      worker.send({ cmd: 'close' });
      expect(await worker.result()).toEqual({ closed: true });
    } finally {
      await worker.stop('SIGKILL');
      await cache.close();
      await cache.adapter.close();
      await deleteKeysWithPrefix(admin, prefix);
    }
  }, 60_000);
});
