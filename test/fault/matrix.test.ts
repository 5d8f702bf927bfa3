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
import { eventually } from '../helpers/wait.js';

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
      await cache.adapter.close();
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
      await cache.adapter.close();
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

describe('sessions fail with a typed error under network faults (TCP fault proxy), lose nothing, and recover', () => {
  // The documented set-up: the session store has no timeout of its own; the
  // ioredis client's `commandTimeout` bounds every command.
  const faults = [
    { name: 'every connection reset', mode: { kind: 'reset' } as const },
    { name: 'latency beyond the command timeout', mode: { kind: 'delay', ms: 2_500 } as const },
  ];
  for (const fault of faults) {
    it(`${fault.name}: get/touch/update/create/destroy reject with ConnectionError; a session written before reads back intact after`, async () => {
      proxy.setMode({ kind: 'pass' });
      const client = new Redis({ host: '127.0.0.1', port: proxy.port, commandTimeout: 1_000 });
      client.on('error', () => {});
      const sessions = new SessionStore<{ cart: string[]; n: number }>({
        adapter: new RedisSessionAdapter({ connection: client, prefix: uniquePrefix('s-net') }),
      });
      try {
        const s = await sessions.create({ cart: ['book', 'pen'], n: 1 }, { userId: 'u1' });
        const written = await sessions.update(s.id, (d) => ({ ...d, n: 2 }));
        expect(written.version).toBe(2);
        const other = await sessions.create({ cart: [], n: 0 });
        let merges = 0;
        proxy.setMode(fault.mode);
        try {
          const results = await Promise.allSettled([
            sessions.get(s.id),
            sessions.touch(s.id),
            sessions.update(s.id, (d) => {
              merges++;
              return { ...d, n: d.n + 1 };
            }),
            sessions.create({ cart: ['x'], n: 9 }),
            sessions.destroy(other.id),
          ]);
          for (const r of results) {
            expect(r.status).toBe('rejected');
            const err = (r as PromiseRejectedResult).reason;
            expect(err).toBeInstanceOf(ConnectionError);
            expect(isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
            expect((err as Error).cause).toBeInstanceOf(Error);
          }
        } finally {
          proxy.setMode({ kind: 'pass' });
        }
        // The merge never ran on a value it could not read: no wrong answer written.
        expect(merges).toBe(0);
        // Works again, and the session written before the fault is intact.
        const after = await eventually(async () => {
          const got = await sessions.get(s.id);
          if (got === undefined) throw new Error('session missing');
          return got;
        });
        expect(after.data).toEqual({ cart: ['book', 'pen'], n: 2 });
        expect(after.version).toBe(2);
        expect(after.userId).toBe('u1');
        const updated = await sessions.update(s.id, (d) => ({ ...d, n: d.n + 1 }));
        expect(updated.data).toEqual({ cart: ['book', 'pen'], n: 3 });
        expect(updated.version).toBe(3);
        const fresh = await sessions.create({ cart: ['new'], n: 0 });
        expect((await sessions.get(fresh.id))?.data).toEqual({ cart: ['new'], n: 0 });
      } finally {
        proxy.setMode({ kind: 'pass' });
        client.disconnect();
      }
    }, 60_000);
  }
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
      expect((await watcher.instances('billing')).map((i) => i.id)).toEqual(urls);
      const faultAt = changes.length;
      for (const mode of [{ kind: 'reset' } as const, { kind: 'delay', ms: 2_000 } as const]) {
        proxy.setMode(mode);
        await new Promise((r) => setTimeout(r, 2_000)); // more than two leases of 900 ms
        expect(new Set(Array.from({ length: 30 }, () => watcher.pick('billing').id))).toEqual(new Set(urls));
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

describe('lock fails closed under latency beyond operationTimeoutMs (TCP proxy delay)', () => {
  it('acquire/tryAcquire/withLock reject with a typed error and grant nothing; a held lease cannot extend and its signal aborts before its TTL; after the fault the lock is exclusive again with larger fencing tokens', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('lock-latency');
    const isStoreError = (e: unknown) =>
      isScaleoutError(e, 'ERR_TIMEOUT') || isScaleoutError(e, 'ERR_CONNECTION');
    // `slow` goes through the proxy; `direct` reaches Redis without it (another process, say).
    const slow = new DistributedLock({
      adapter: redisLockAdapter({ connection: proxiedClient(), prefix }),
      operationTimeoutMs: 500,
    });
    const direct = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.url, prefix }),
      operationTimeoutMs: 5_000,
    });
    const granted: number[] = [];
    slow.on('acquired', (e) => granted.push(e.fencingToken));
    try {
      const first = await slow.acquire('shared', { ttlMs: 5_000 });
      const tokenBefore = first.fencingToken;
      await first.release();
      const ttlMs = 10_000;
      const held = await slow.acquire('held', { ttlMs });
      const heldUntil = Date.now() + ttlMs;
      let abortedAt: number | undefined;
      held.signal.addEventListener('abort', () => {
        abortedAt = Date.now();
      });

      proxy.setMode({ kind: 'delay', ms: 2_000 });
      let ran = 0;
      let extendError: unknown;
      try {
        const results = await Promise.allSettled([
          slow.acquire('shared', { ttlMs: 3_000, waitMs: 2_000 }),
          slow.tryAcquire('second', { ttlMs: 3_000 }),
          slow.withLock('third', () => ++ran, { ttlMs: 3_000 }),
        ]);
        for (const r of results) {
          expect(r.status).toBe('rejected');
          expect(isStoreError((r as PromiseRejectedResult).reason)).toBe(true);
        }
        extendError = await held.extend().then(
          () => undefined,
          (e: unknown) => e,
        );
        // Still slow: the acquire's SET reaches Redis after its caller gave up
        // and creates a hold that belongs to nobody (the fencing counter moves
        // only when the SET succeeds); the lock's background release, sent
        // after the timeout, follows it on the same connection and removes it.
        const admin = server.client();
        await eventually(async () => {
          const [fence, hold] = await Promise.all([
            admin.get(`${prefix}{shared}:fence`),
            admin.exists(`${prefix}{shared}:lock`),
          ]);
          if (Number(fence) !== tokenBefore + 1 || hold !== 0)
            throw new Error('delayed commands not landed yet');
        });
        admin.disconnect();
      } finally {
        proxy.setMode({ kind: 'pass' });
      }
      expect(ran).toBe(0);
      expect(granted).toEqual([first.fencingToken, held.fencingToken]); // nothing granted during the fault
      expect(isStoreError(extendError)).toBe(true);
      expect(held.signal.aborted).toBe(true);
      expect(isScaleoutError(held.signal.reason, 'ERR_LOCK_LOST')).toBe(true);
      expect(abortedAt).toBeLessThan(heldUntil);

      // The orphan hold was never granted; whoever takes the lock next gets a
      // larger fencing token than it, and holds the lock alone.
      const next = await eventually(() => direct.acquire('shared', { ttlMs: 5_000, waitMs: 10_000 }));
      expect(next.fencingToken).toBe(tokenBefore + 2);
      expect(await eventually(() => slow.tryAcquire('shared', { ttlMs: 5_000 }))).toBeNull();
      await next.release();
      const again = await eventually(() => slow.acquire('shared', { ttlMs: 5_000, waitMs: 10_000 }));
      expect(again.fencingToken).toBeGreaterThan(next.fencingToken);
      expect(await direct.tryAcquire('shared', { ttlMs: 5_000 })).toBeNull();
      await again.release();

      // The lost lease's hold may have been extended on the server by the late
      // extend: nobody else gets it until its holder releases it or it expires.
      const other = await direct.tryAcquire('held', { ttlMs: 5_000 });
      if (other !== null) {
        // Only if the late extend found the hold gone, which it cannot before its TTL.
        throw new Error('the held resource was granted to a second holder');
      }
      expect(await held.release()).toBe(true);
      const taken = await direct.acquire('held', { ttlMs: 5_000, waitMs: 5_000 });
      expect(taken.fencingToken).toBeGreaterThan(held.fencingToken);
      await taken.release();
    } finally {
      proxy.setMode({ kind: 'pass' });
      await slow.adapter.close();
      await slow.close();
      await direct.adapter.close();
      await direct.close();
    }
  }, 60_000);
});
