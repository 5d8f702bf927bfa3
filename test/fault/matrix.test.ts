import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { redisRegistryAdapter } from '../../src/adapters/redis/registry.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import { DistributedCache } from '../../src/cache/index.js';
import { ConnectionError, isScaleoutError } from '../../src/errors.js';
import { DistributedLock } from '../../src/lock/index.js';
import { ServiceRegistry, type ServiceRegistryEvents } from '../../src/registry/service-registry.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

// Cells of the failure matrix (docs/operations.md) that no other test covers.
// One redis-server and one TCP fault proxy in front of it for the whole file.
let server: RedisServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startRedisServer();
  proxy = await startFaultProxy({ port: server.port });
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/** Retries `fn` until it succeeds (recovery after a fault takes a moment). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Throws unless a key under `prefix` containing `part` is stored in Redis. */
async function expectInRedis(prefix: string, part: string): Promise<void> {
  const admin = server.client();
  try {
    const keys = await admin.keys(`${prefix}*${part}*`);
    if (keys.length === 0) throw new Error(`no key with ${part} in Redis yet`);
  } finally {
    admin.disconnect();
  }
}

function proxiedClient(): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port: proxy.port,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  c.on('error', () => {});
  return c;
}

describe('cache fails open under network faults (TCP fault proxy)', () => {
  it('with added latency beyond the operation timeout: getOrSet answers from the loader, set resolves; recovers after', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('latency');
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: proxiedClient(), prefix }),
      operationTimeoutMs: 150,
      circuitThreshold: 1_000,
    });
    try {
      await cache.ready();
      await cache.set('warm', { v: 1 });
      proxy.setMode({ kind: 'delay', ms: 1_000 });
      expect(await cache.getOrSet('cold', () => ({ from: 'loader' }))).toEqual({ from: 'loader' });
      await expect(cache.set('other', 1)).resolves.toBeUndefined();
      proxy.setMode({ kind: 'pass' });
      // Back to normal: writes reach Redis again.
      await eventually(async () => {
        await cache.set('after', { ok: true });
        await expectInRedis(prefix, 'after');
      });
    } finally {
      proxy.setMode({ kind: 'pass' });
      await cache.close();
    }
  }, 60_000);

  it('with every connection reset: getOrSet answers from the loader and set resolves; recovers after', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('reset');
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: proxiedClient(), prefix }),
      operationTimeoutMs: 200,
    });
    try {
      await cache.ready();
      proxy.setMode({ kind: 'reset' });
      let loads = 0;
      for (let i = 0; i < 5; i++) {
        expect(await cache.getOrSet(`k${i}`, () => ++loads)).toBe(loads);
      }
      expect(loads).toBe(5);
      await expect(cache.set('x', 1)).resolves.toBeUndefined();
      proxy.setMode({ kind: 'pass' });
      await eventually(async () => {
        await cache.set('back', 'yes');
        await expectInRedis(prefix, 'back');
      });
    } finally {
      proxy.setMode({ kind: 'pass' });
      await cache.close();
    }
  }, 60_000);
});

describe('sessions fail with a typed error (ConnectionError) while Redis is unavailable', () => {
  const store = (client: Redis) =>
    new SessionStore({ adapter: new RedisSessionAdapter({ connection: client, prefix: uniquePrefix('s') }) });

  it('Redis killed: get/update/create reject with ConnectionError (cause kept); after a restart they work again', async () => {
    const client = server.client({ maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    const sessions = store(client);
    const s = await sessions.create({ n: 1 }, { userId: 'u' });
    await server.kill();
    try {
      for (const op of [
        () => sessions.get(s.id),
        () => sessions.update(s.id, (d) => ({ n: (d.n as number) + 1 })),
        () => sessions.create({ n: 2 }),
      ]) {
        const err = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConnectionError);
        expect(isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
        expect((err as Error).cause).toBeInstanceOf(Error);
      }
    } finally {
      await server.restart();
    }
    // The restarted server is empty (no persistence): the old session is gone, new ones work.
    const fresh = await eventually(() => sessions.create({ n: 3 }));
    expect((await sessions.get(fresh.id))?.data).toEqual({ n: 3 });
    expect(await sessions.get(s.id)).toBeUndefined();
  }, 60_000);

  it('Redis paused (SIGSTOP) with an ioredis commandTimeout: get rejects with ConnectionError instead of hanging; works after resume', async () => {
    const client = server.client({ commandTimeout: 300 });
    const sessions = store(client);
    const s = await sessions.create({ n: 1 });
    server.pause();
    try {
      const err = await sessions.get(s.id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectionError);
    } finally {
      server.resume();
    }
    expect((await eventually(() => sessions.get(s.id)))?.data).toEqual({ n: 1 });
  }, 60_000);
});

describe('registry keeps its last good view under network faults (TCP fault proxy)', () => {
  it('with every connection reset, then with latency, for longer than a lease: the view drops nobody; it converges after', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('registry-net');
    // The instances register directly; only the watcher goes through the proxy.
    const ownerAdapter = redisRegistryAdapter({ connection: server.url, prefix });
    const watcherAdapter = redisRegistryAdapter({ connection: proxiedClient(), prefix });
    const owner = new ServiceRegistry({ adapter: ownerAdapter, ttlMs: 900, operationTimeoutMs: 300 });
    const watcher = new ServiceRegistry({ adapter: watcherAdapter, operationTimeoutMs: 300 });
    const changes: ServiceRegistryEvents['change'][] = [];
    const errors: ServiceRegistryEvents['error'][] = [];
    watcher.on('change', (e) => changes.push(e));
    watcher.on('error', (e) => errors.push(e));
    try {
      const urls = ['http://127.0.0.1:4201/', 'http://127.0.0.1:4202/'];
      for (const url of urls) await owner.register('billing', url);
      await watcher.watch('billing');
      expect((await watcher.instances('billing')).map((i) => i.url)).toEqual(urls);
      const faultAt = changes.length;
      for (const mode of [{ kind: 'reset' } as const, { kind: 'delay', ms: 2_000 } as const]) {
        proxy.setMode(mode);
        await new Promise((r) => setTimeout(r, 2_000)); // more than two leases of 900 ms
        expect(new Set(Array.from({ length: 30 }, () => watcher.pick('billing').url))).toEqual(new Set(urls));
        expect(changes.slice(faultAt).filter((c) => c.type === 'down')).toEqual([]);
      }
      proxy.setMode({ kind: 'pass' });
      // Converges: an instance registered after the fault reaches the watcher's view.
      await owner.register('billing', 'http://127.0.0.1:4203/');
      await eventually(async () => {
        if ((await watcher.instances('billing')).length !== 3) throw new Error('not converged yet');
      });
    } finally {
      proxy.setMode({ kind: 'pass' });
      await owner.close();
      await watcher.close();
      await ownerAdapter.close();
      await watcherAdapter.close();
    }
  }, 60_000);
});

describe('lock fails closed while Redis cannot answer', () => {
  for (const fault of ['paused (SIGSTOP)', 'behind a proxy that resets every connection'] as const) {
    it(`Redis ${fault}: acquire rejects with a typed error and grants nothing; a held lease's extend rejects and its signal aborts`, async () => {
      proxy.setMode({ kind: 'pass' });
      const locks = new DistributedLock({
        adapter: redisLockAdapter({ connection: proxiedClient(), prefix: uniquePrefix('lock-fault') }),
        operationTimeoutMs: 500,
      });
      try {
        const lease = await locks.acquire('r', { ttlMs: 10_000 });
        if (fault === 'paused (SIGSTOP)') server.pause();
        else proxy.setMode({ kind: 'reset' });
        try {
          const results = await Promise.allSettled([
            locks.acquire('other', { waitMs: 1_000 }),
            locks.tryAcquire('third'),
            locks.withLock('fourth', () => 'ran'),
          ]);
          for (const r of results) {
            expect(r.status).toBe('rejected');
            const reason = (r as PromiseRejectedResult).reason;
            expect(isScaleoutError(reason, 'ERR_CONNECTION') || isScaleoutError(reason, 'ERR_TIMEOUT')).toBe(
              true,
            );
          }
          await expect(lease.extend()).rejects.toSatisfy((e: unknown) => isScaleoutError(e));
          expect(lease.signal.aborted).toBe(true);
        } finally {
          server.resume();
          proxy.setMode({ kind: 'pass' });
        }
        // Recovers: the lock can be taken again once Redis answers.
        const again = await eventually(() => locks.acquire('other', { ttlMs: 5_000, waitMs: 0 }));
        await again.release();
      } finally {
        proxy.setMode({ kind: 'pass' });
        await locks.adapter.close();
        await locks.close();
      }
    }, 60_000);
  }
});
