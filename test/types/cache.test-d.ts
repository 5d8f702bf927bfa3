import { describe, expectTypeOf, it } from 'vitest';
import {
  type CacheAdapter,
  type CacheHitEvent,
  DistributedCache,
  type DistributedCacheOptions,
  memoryCacheAdapter,
} from '../../src/index.js';
import { redisCacheAdapter } from '../../src/redis.js';

interface User {
  id: number;
  name: string;
}

describe('DistributedCache types', () => {
  const cache = new DistributedCache();

  it('infers getOrSet from the loader, sync or async', () => {
    expectTypeOf(cache.getOrSet('u', async () => ({ id: 1, name: 'a' }) as User)).toEqualTypeOf<
      Promise<User>
    >();
    expectTypeOf(cache.getOrSet('n', () => 42)).toEqualTypeOf<Promise<number>>();
    cache.getOrSet('u', ({ signal, key }) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(key).toEqualTypeOf<string>();
      return 1;
    });
  });

  it('types get/getMany by their parameter and the rest by the design names', () => {
    expectTypeOf(cache.get<User>('u')).toEqualTypeOf<Promise<User | undefined>>();
    expectTypeOf(cache.getMany<User>(['a'])).toEqualTypeOf<Promise<Array<User | undefined>>>();
    expectTypeOf(cache.increment('n')).toEqualTypeOf<Promise<number>>();
    expectTypeOf(cache.setNX('k', 1, { ttlMs: 1000 })).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(cache.delete('k')).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(cache.namespace('users')).toEqualTypeOf<DistributedCache>();
    // @ts-expect-error ttl is an options object
    cache.set('k', 1, '1h');
    // @ts-expect-error a bare number (the design's seconds) is refused: pass { ttlMs }
    cache.set('k', 1, 3600);
    // @ts-expect-error a bare number (the design's seconds) is refused: pass { ttlMs }
    cache.setNX('k', 1, 30);
    // @ts-expect-error unknown option
    cache.getOrSet('k', () => 1, { ttl: 5 });
  });

  it('types event payloads by event name', () => {
    cache.on('hit', (e) => expectTypeOf(e).toEqualTypeOf<CacheHitEvent>());
    cache.on('stale', (e) =>
      expectTypeOf(e.reason).toEqualTypeOf<'grace' | 'loader-error' | 'soft-timeout' | 'backend-down'>(),
    );
    // @ts-expect-error no such event
    cache.on('nope', () => {});
  });

  it('accepts both adapters as a CacheAdapter', () => {
    expectTypeOf(memoryCacheAdapter()).toMatchTypeOf<CacheAdapter>();
    expectTypeOf(redisCacheAdapter).parameter(0).toHaveProperty('connection');
    expectTypeOf<DistributedCacheOptions['adapter']>().toEqualTypeOf<CacheAdapter | undefined>();
  });
});
