import { describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { DistributedCache } from '../../../src/cache/index.js';
import {
  CacheValueTooLargeError,
  ClosedError,
  CorruptDataError,
  InvalidArgumentError,
  InvalidOptionsError,
  SerializationError,
  UnsafePayloadError,
} from '../../../src/errors.js';
import { cacheFactory, eventually, manualClock } from './helpers.js';

const make = cacheFactory();

describe('DistributedCache: basic operations', () => {
  it('round-trips typed values through the serializer and both tiers', async () => {
    const adapter = memoryCacheAdapter();
    const cache = make({ adapter });
    const user = { id: 1, name: 'Ada', tags: ['x'], nested: { ok: true }, nothing: null };
    await cache.set('user:1', user);
    expect(await cache.get<typeof user>('user:1')).toEqual(user);
    // a second instance on the same adapter reads it from L2
    const other = make({ adapter });
    expect(await other.get('user:1')).toEqual(user);
    expect(await other.get('absent')).toBeUndefined();
    for (const v of [0, '', false, 'text', [1, 2], 3.5]) {
      await cache.set('v', v);
      expect(await other.get('v')).toEqual(v);
    }
  });

  it('expires values after their TTL', async () => {
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
    const cache = make({ adapter, clock });
    await cache.set('a', 1, { ttlMs: 1_000 });
    await cache.set('b', 2, { ttlMs: 5_000 });
    clock.t += 999;
    expect(await cache.get('a')).toBe(1);
    clock.t += 1;
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBe(2);
    clock.t += 5_000;
    expect(await cache.get('b')).toBeUndefined();
  });

  it('delete removes from both tiers and reports whether the key existed', async () => {
    const cache = make();
    await cache.set('k', 'v');
    expect(await cache.delete('k')).toBe(true);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.delete('k')).toBe(false);
  });

  it('increment counts atomically and get reads the counter', async () => {
    const adapter = memoryCacheAdapter();
    const a = make({ adapter });
    const b = make({ adapter });
    expect(await a.increment('views')).toBe(1);
    expect(await b.increment('views', 5)).toBe(6);
    expect(await a.get('views')).toBe(6);
    await a.increment('views', -1);
    await eventually(async () => (await b.get('views')) === 5);
    await a.set('text', 'hello');
    // A value written by set() is a wrong call, not foreign data (the
    // design's set(k, 5) then increment(k) included): the message says so.
    await expect(a.increment('text')).rejects.toThrow(/holds a value written by set\(\)/);
    await expect(a.increment('text')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await a.get('text')).toBe('hello');
    await a.set('points', 5);
    await expect(a.increment('points')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await a.get('points')).toBe(5);
    // Text another program wrote is foreign data.
    await adapter.set('v:text-by-another-program', 'hello'); // the cache's data key
    await expect(a.increment('text-by-another-program')).rejects.toBeInstanceOf(CorruptDataError);
    await expect(a.increment('views', 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('setNX stores only when absent', async () => {
    const cache = make();
    expect(await cache.setNX('once', 'first', { ttlMs: 10_000 })).toBe(true);
    expect(await cache.setNX('once', 'second', { ttlMs: 10_000 })).toBe(false);
    expect(await cache.get('once')).toBe('first');
  });

  it('getMany / setMany / deleteMany use L1 first and one adapter call for the rest', async () => {
    const adapter = memoryCacheAdapter();
    const getMany = vi.spyOn(adapter, 'getMany');
    const cache = make({ adapter });
    await cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: { x: 2 } },
    ]);
    const other = make({ adapter });
    await other.set('c', 3);
    expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([1, { x: 2 }, 3, undefined]);
    expect(getMany).toHaveBeenCalledTimes(1);
    expect(getMany.mock.calls[0]![0]).toEqual(['v:c', 'v:d']);
    expect(await cache.deleteMany(['a', 'c', 'zzz'])).toBe(2);
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, { x: 2 }, undefined]);
  });

  it('namespaces isolate keys and clear only their own', async () => {
    const cache = make();
    const users = cache.namespace('users');
    const orders = cache.namespace('orders');
    await users.set('1', 'ada');
    await orders.set('1', 'order');
    await cache.set('1', 'root');
    expect(users.prefix).toBe('users:');
    expect(await users.get('1')).toBe('ada');
    expect(await cache.get('users:1')).toBe('ada');
    await users.clear();
    expect(await users.get('1')).toBeUndefined();
    expect(await orders.get('1')).toBe('order');
    expect(await cache.get('1')).toBe('root');
    expect(cache.namespace('a').namespace('b').prefix).toBe('a:b:');
  });
});

describe('DistributedCache: bad input gets typed errors and corrupts nothing', () => {
  it('refuses bad keys', async () => {
    const cache = make({ maxKeyLength: 20 });
    for (const key of [undefined, null, 42, {}, '', 'a\nb', 'tab\there', 'nul\u0000', 'x'.repeat(21)]) {
      await expect(cache.get(key as string)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(cache.set(key as string, 1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(cache.getOrSet(key as string, () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(cache.getMany(['ok', ''])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.set('k', 1, { ttlMs: -5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.set('k', 1, { ttlMs: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.getOrSet('k', 'nope' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses values that do not serialize, oversize values and pollution payloads, keeping the old value', async () => {
    const cache = make({ maxValueBytes: 1_000 });
    await cache.set('k', { good: true });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(cache.set('k', circular)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', () => 1)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', 10n)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', undefined)).rejects.toBeInstanceOf(SerializationError);
    const big = cache.set('k', 'é'.repeat(600));
    await expect(big).rejects.toBeInstanceOf(CacheValueTooLargeError);
    await expect(big).rejects.toMatchObject({
      code: 'ERR_CACHE_VALUE_TOO_LARGE',
      bytes: 1202,
      maxBytes: 1000,
    });
    const polluted = JSON.parse('{"a":1,"__proto__":{"isAdmin":true}}');
    await expect(cache.set('k', polluted)).rejects.toBeInstanceOf(UnsafePayloadError);
    await expect(
      cache.setMany([
        { key: 'x', value: 1 },
        { key: 'k', value: polluted },
      ]),
    ).rejects.toBeInstanceOf(UnsafePayloadError);
    await expect(cache.getOrSet('p', () => polluted)).rejects.toBeInstanceOf(UnsafePayloadError);
    expect(await cache.get('k')).toEqual({ good: true });
    expect(await cache.get('x')).toBeUndefined();
    expect(await cache.get('p')).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('treats an unreadable or polluted stored value as a miss and reports it', async () => {
    const adapter = memoryCacheAdapter();
    const cache = make({ adapter });
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(`${e.operation}:${(e.error as { code?: string }).code}`));
    await adapter.set('v:bad', '1:9999999999999:0:{not json');
    await adapter.set('v:evil', '{"__proto__":{"isAdmin":true}}');
    expect(await cache.get('bad')).toBeUndefined();
    expect(await cache.get('evil')).toBeUndefined();
    expect(errors).toEqual(['deserialize:ERR_DESERIALIZE', 'deserialize:ERR_UNSAFE_PAYLOAD']);
    expect(await cache.getOrSet('evil', () => ({ safe: 1 }))).toEqual({ safe: 1 });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('validates options at construction', () => {
    expect(() => new DistributedCache({ defaultTtlMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ graceMs: -1 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ earlyRefreshBeta: Number.NaN })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ failOpen: 'yes' as never })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ waitPollMinMs: 500, waitPollMaxMs: 100 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new DistributedCache({ l1MaxEntries: 0 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ adapter: { get: () => undefined } as never })).toThrow(
      /missing getMany/,
    );
    expect(() => new DistributedCache({ serializer: {} as never })).toThrow(InvalidOptionsError);
  });

  it('refuses use after close', async () => {
    const cache = new DistributedCache();
    await cache.close();
    await expect(cache.get('k')).rejects.toBeInstanceOf(ClosedError);
    await expect(cache.getOrSet('k', () => 1)).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('DistributedCache: events', () => {
  it('emits hit (by tier) and miss', async () => {
    const adapter = memoryCacheAdapter();
    const writer = make({ adapter });
    const cache = make({ adapter });
    const seen: string[] = [];
    cache.on('hit', (e) => seen.push(`hit:${e.tier}:${e.key}`));
    cache.on('miss', (e) => seen.push(`miss:${e.key}`));
    await writer.set('k', 1);
    await cache.get('k');
    await cache.get('k');
    await cache.get('none');
    expect(seen).toEqual(['hit:l2:k', 'hit:l1:k', 'miss:none']);
  });
});
