import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { cacheFactory } from './helpers.js';

const make = cacheFactory();

/** Runs `call` and returns what it threw (sync or async), or fails. */
async function refusal(call: () => unknown): Promise<InvalidOptionsError> {
  try {
    await call();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return err as InvalidOptionsError;
  }
  throw new Error('expected InvalidOptionsError');
}

describe('DistributedCache: wrong calls are refused, never read another way', () => {
  it("refuses the design's bare seconds where an options object goes, naming { ttlMs }, and stores nothing", async () => {
    const cache = make();
    for (const call of [
      () => cache.set('k', 'v', 3600 as never),
      () => cache.setNX('k', 'v', 30 as never),
      () => cache.getOrSet('k', () => 'v', 60 as never),
      () => cache.increment('n', 1, 60 as never),
    ]) {
      const err = await refusal(call);
      expect(err.option).toBe('ttlMs');
      expect(err.message).toMatch(/\{ ttlMs: <milliseconds> \}/);
    }
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('n')).toBeUndefined();
  });

  it('refuses unknown option keys, suggesting the option meant', async () => {
    const cache = make();
    const cases: Array<[() => unknown, string, string | undefined]> = [
      [() => cache.set('k', 1, { ttl: 5 } as never), 'ttl', 'ttlMs'],
      [() => cache.set('k', 1, { ttlSeconds: 5 } as never), 'ttlSeconds', 'ttlMs'],
      [() => cache.setNX('k', 1, { ex: 5 } as never), 'ex', 'ttlMs'],
      [() => cache.getOrSet('k', () => 1, { timeout: 5 } as never), 'timeout', 'hardTimeoutMs'],
      [() => cache.increment('n', 1, { ttlMS: 5 } as never), 'ttlMS', 'ttlMs'],
      [() => cache.setMany([{ key: 'a', value: 1, ttl: 5 } as never]), 'ttl', 'ttlMs'],
      [() => new DistributedCache({ ttl: 5 } as never), 'ttl', 'defaultTtlMs'],
      [() => new DistributedCache({ defaultTtl: 5 } as never), 'defaultTtl', 'defaultTtlMs'],
      [() => new DistributedCache({ redis: {} } as never), 'redis', 'adapter'],
      [() => new DistributedCache({ lockPrefix: 'lock:' } as never), 'lockPrefix', undefined],
    ];
    for (const [call, option, suggestion] of cases) {
      const err = await refusal(call);
      expect(err.option).toBe(option);
      expect(err.suggestion).toBe(suggestion);
    }
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('a')).toBeUndefined();
  });

  it('refuses a client, a URL or a class instance where the options object goes, saying what to pass', async () => {
    const redis = new Redis({ lazyConnect: true });
    try {
      for (const value of [redis, 'redis://127.0.0.1:6379', new Map(), memoryCacheAdapter()]) {
        const err = await refusal(() => new DistributedCache(value as never));
        expect(err.message).toMatch(/adapter: redisCacheAdapter\(/);
      }
      const cache = make();
      for (const value of [new Map(), [], 'x', true]) {
        await refusal(() => cache.set('k', 1, value as never));
        await refusal(() => cache.getOrSet('k', () => 1, value as never));
      }
    } finally {
      redis.disconnect();
    }
  });

  it('accepts every documented option', async () => {
    const cache = make({ defaultTtlMs: 1000, graceMs: 0, l1: true, failOpen: true });
    await cache.set('k', 1, { ttlMs: 1000, graceMs: 10 });
    expect(await cache.setNX('n', 1, { ttlMs: 1000, graceMs: 0 })).toBe(true);
    expect(await cache.increment('c', 1, { ttlMs: 1000 })).toBe(1);
    await cache.setMany([{ key: 'm', value: 1, ttlMs: 1000, graceMs: 0 }]);
    expect(
      await cache.getOrSet('g', () => 2, {
        ttlMs: 1000,
        graceMs: 0,
        softTimeoutMs: 0,
        hardTimeoutMs: 100,
        earlyRefreshBeta: 1,
      }),
    ).toBe(2);
  });
});

describe('cache adapter factories refuse unknown keys and non-objects', () => {
  it('memoryCacheAdapter', async () => {
    expect((await refusal(() => memoryCacheAdapter({ max: 5 } as never))).suggestion).toBe('maxEntries');
    expect((await refusal(() => memoryCacheAdapter({ ttl: 5 } as never))).option).toBe('ttl');
    await refusal(() => memoryCacheAdapter(100 as never));
    await refusal(() => memoryCacheAdapter({ now: 5 } as never));
    expect(memoryCacheAdapter({ maxEntries: 5, maxBytes: 100, now: Date.now })).toBeDefined();
  });

  it('redisCacheAdapter: a client passed bare, unknown keys, no options', async () => {
    const redis = new Redis({ lazyConnect: true });
    try {
      expect((await refusal(() => redisCacheAdapter(redis as never))).message).toMatch(
        /must be an options object \(\{ connection, prefix, scanCount \}\), got an instance of/,
      );
      const err = await refusal(() => redisCacheAdapter({ client: redis } as never));
      expect(err.suggestion).toBe('connection');
      expect((await refusal(() => redisCacheAdapter({ connection: redis, ttl: 1 } as never))).option).toBe(
        'ttl',
      );
      await refusal(() => redisCacheAdapter(undefined as never));
      const ok = redisCacheAdapter({ connection: redis, prefix: 'p:', scanCount: 10 });
      await ok.close();
    } finally {
      redis.disconnect();
    }
  });
});
