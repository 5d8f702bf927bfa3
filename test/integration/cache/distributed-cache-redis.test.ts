import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import type { DistributedCacheOptions } from '../../../src/cache/options.js';
import { TimeoutError, UnsafePayloadError } from '../../../src/errors.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

describe('DistributedCache on a real redis-server', () => {
  let server: RedisServer;
  let admin: Redis;
  const caches: DistributedCache[] = [];
  const prefixes: string[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    admin = server.client();
  });
  afterEach(async () => {
    server.resume();
    await Promise.all(caches.splice(0).map((c) => c.close()));
    for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin, p);
  });
  afterAll(async () => {
    await server.stop();
  });

  function make(prefix: string, options: DistributedCacheOptions = {}): DistributedCache {
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      ...options,
    });
    caches.push(cache);
    return cache;
  }
  function newPrefix(): string {
    const p = uniquePrefix('dcache');
    prefixes.push(p);
    return p;
  }

  it('stores values with their TTL in Redis and shares them between instances', async () => {
    const prefix = newPrefix();
    const a = make(prefix);
    const b = make(prefix);
    await a.set('user:1', { name: 'Ada' }, { ttlMs: 60_000, graceMs: 30_000 });
    const ttl = await admin.pttl(`${prefix}v:user:1`);
    expect(ttl).toBeGreaterThan(80_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    expect(await b.get('user:1')).toEqual({ name: 'Ada' });
    expect(await b.increment('n', 2)).toBe(2);
    expect(await a.increment('n', 3)).toBe(5);
    expect(await a.setNX('once', 1, { ttlMs: 10_000 })).toBe(true);
    expect(await b.setNX('once', 2, { ttlMs: 10_000 })).toBe(false);
    await a.setMany([
      { key: 'm1', value: 1 },
      { key: 'm2', value: 2 },
    ]);
    expect(await b.getMany(['m1', 'm2', 'm3'])).toEqual([1, 2, undefined]);
    expect(await b.deleteMany(['m1', 'm2'])).toBe(2);
  });

  it('namespace clear removes only that namespace from Redis', async () => {
    const prefix = newPrefix();
    const cache = make(prefix);
    await cache.namespace('users').set('1', 'a');
    await cache.namespace('users').set('2', 'b');
    await cache.namespace('orders').set('1', 'c');
    await cache.namespace('users').clear();
    expect(await admin.exists(`${prefix}v:users:1`, `${prefix}v:users:2`)).toBe(0);
    expect(await admin.get(`${prefix}v:orders:1`)).toContain('"c"');
  });

  it('refuses to store a pollution payload and reads one planted in Redis as a miss', async () => {
    const prefix = newPrefix();
    const cache = make(prefix);
    await expect(cache.set('k', JSON.parse('{"__proto__":{"admin":true}}'))).rejects.toBeInstanceOf(
      UnsafePayloadError,
    );
    expect(await admin.exists(`${prefix}v:k`)).toBe(0);
    await admin.set(`${prefix}v:planted`, '{"constructor":{"prototype":{"admin":true}}}');
    expect(await cache.get('planted')).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('a frozen Redis (SIGSTOP): fail-open answers within the operation timeout; failOpen: false gets TimeoutError', async () => {
    const prefix = newPrefix();
    const open = make(prefix, { operationTimeoutMs: 150 });
    const strict = make(prefix, { operationTimeoutMs: 150, failOpen: false });
    await Promise.all([open.ready(), strict.ready()]);
    server.pause();
    const started = Date.now();
    expect(await open.getOrSet('k', () => 'from-loader')).toBe('from-loader');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(open.set('k2', 1)).resolves.toBeUndefined();
    await expect(strict.get('k')).rejects.toBeInstanceOf(TimeoutError);
    server.resume();
  });
});
