import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import type { DistributedCacheOptions } from '../../../src/cache/options.js';
import type { CacheErrorEvent } from '../../../src/index.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

/** "A data error is not an outage": foreign records in Redis, read by the cache. */
describe('DistributedCache: foreign records are data errors, not outages', () => {
  let server: RedisServer;
  let admin: Redis;
  const caches: DistributedCache[] = [];
  const prefixes: string[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    admin = server.client();
  });
  afterEach(async () => {
    const closing = caches.splice(0);
    await Promise.all(closing.map((c) => c.close()));
    // The adapters are ours: a cache closes only an adapter it created.
    await Promise.all(closing.map((c) => c.adapter.close()));
    for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin, p);
  });
  afterAll(async () => {
    await server.stop();
  });

  function setup(options: DistributedCacheOptions = {}) {
    const prefix = uniquePrefix('dataerr');
    prefixes.push(prefix);
    const make = () => {
      const cache = new DistributedCache({
        adapter: redisCacheAdapter({ connection: server.client(), prefix }),
        ...options,
      });
      caches.push(cache);
      return cache;
    };
    const cache = make();
    const errors: CacheErrorEvent[] = [];
    cache.on('error', (e) => errors.push(e));
    const codes = () => errors.map((e) => `${e.operation}:${(e.error as { code?: string }).code}`);
    return { prefix, cache, make, errors, codes };
  }

  it('many reads of a key of another Redis type: typed, no circuit, good keys still read from Redis and writes land', async () => {
    for (const failOpen of [true, false]) {
      const { prefix, cache, make, codes } = setup({ failOpen, circuitThreshold: 3 });
      await admin.hset(`${prefix}v:foreign`, 'f', 'x');
      await make().set('good', { ok: 1 });
      for (let i = 0; i < 20; i++) expect(await cache.get('foreign')).toBeUndefined();
      expect(await cache.getMany(['foreign', 'good'])).toEqual([undefined, { ok: 1 }]);
      expect(cache.circuitState).toBe('closed');
      expect(codes().slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 'get:ERR_CORRUPT_DATA'));
      // a good key is read from Redis (written by another instance), and writes land
      const tiers: string[] = [];
      cache.on('hit', (e) => tiers.push(e.tier));
      await admin.set(`${prefix}v:raw`, '"from redis"');
      expect(await cache.get('raw')).toBe('from redis');
      expect(tiers).toEqual(['l2']);
      await cache.set('written', 42);
      expect(await admin.get(`${prefix}v:written`)).toMatch(/:42$/);
      // the foreign record itself is untouched by reads
      expect(await admin.hget(`${prefix}v:foreign`, 'f')).toBe('x');
    }
  });

  it('getOrSet over a foreign record loads, reports it, and replaces it with the value', async () => {
    const { prefix, cache, codes } = setup({ failOpen: false });
    await admin.rpush(`${prefix}v:k`, 'a', 'b');
    expect(await cache.getOrSet('k', () => ({ fresh: true }))).toEqual({ fresh: true });
    expect(codes()).toContain('get:ERR_CORRUPT_DATA');
    expect(await admin.type(`${prefix}v:k`)).toBe('string');
    expect(cache.circuitState).toBe('closed');
  });

  it('increment: foreign or junk counters are ERR_CORRUPT_DATA, past 2^53 ERR_INVALID_ARGUMENT; nothing changes', async () => {
    const { prefix, cache } = setup();
    await admin.hset(`${prefix}v:hash`, 'f', '1');
    await admin.set(`${prefix}v:junk`, 'abc');
    await admin.set(`${prefix}v:huge`, '9223372036854775807');
    await admin.set(`${prefix}v:edge`, String(Number.MAX_SAFE_INTEGER - 1));
    for (let i = 0; i < 10; i++) {
      await expect(cache.increment('hash')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
      await expect(cache.increment('junk')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
      await expect(cache.increment('huge')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
    }
    expect(await cache.increment('edge')).toBe(Number.MAX_SAFE_INTEGER);
    await expect(cache.increment('edge')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(cache.increment('edge', 1000)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await admin.get(`${prefix}v:edge`)).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(await admin.get(`${prefix}v:junk`)).toBe('abc');
    expect(await admin.get(`${prefix}v:huge`)).toBe('9223372036854775807');
    expect(cache.circuitState).toBe('closed');
    expect(await cache.increment('fine')).toBe(1);
  });

  it('a foreign record at a refresh lock does not hold cold loads until the wait deadline', async () => {
    const { prefix, cache, codes } = setup({
      lockTtlMs: 60_000,
      hardTimeoutMs: 60_000,
      waitPollMinMs: 10,
      waitPollMaxMs: 20,
    });
    await admin.hset(`${prefix}l:a`, 'f', 'x');
    await admin.set(`${prefix}l:b`, 'no-ttl junk, not a token');
    expect(await cache.getOrSet('a', () => 'A')).toBe('A');
    expect(await cache.getOrSet('b', () => 'B')).toBe('B');
    expect(codes().filter((c) => c === 'lock:ERR_CORRUPT_DATA')).toHaveLength(2);
    expect(await admin.get(`${prefix}v:a`)).toMatch(/"A"$/);
  }, 10_000);

  it('a value larger than maxValueBytes stored by another program is a miss with an error event', async () => {
    const { prefix, cache, codes } = setup({ maxValueBytes: 1_000 });
    await admin.set(`${prefix}v:big`, JSON.stringify('x'.repeat(5_000)));
    expect(await cache.get('big')).toBeUndefined();
    expect(codes()).toEqual(['deserialize:ERR_CORRUPT_DATA']);
  });

  it('junk on the bus channel is reported and ignored; invalidation keeps working', async () => {
    const { prefix, cache, make, codes } = setup();
    const other = make();
    await Promise.all([cache.ready(), other.ready()]);
    const channel = `${prefix}cache:bus`;
    for (const junk of [
      'not json',
      '[]',
      '42',
      '{"k":["a"]}',
      '{"i":"x","k":[1]}',
      '{"i":"x"}',
      '{"\\u005f_proto__":{"k":1}}',
    ]) {
      await admin.publish(channel, junk);
    }
    await until(
      'junk reported',
      () => codes().filter((c) => c === 'bus:ERR_CORRUPT_DATA').length === 7,
      5_000,
    );
    await cache.set('k', 1);
    await other.set('k', 2);
    await until('invalidated', async () => (await cache.get('k')) === 2, 5_000);
  });
});
