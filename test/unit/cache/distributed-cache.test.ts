import { describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { CacheValueTooLargeError, InvalidArgumentError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { cacheFactory } from './helpers.js';

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
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock });
    await cache.set('a', 1, { ttlMs: 1_000 });
    await cache.set('b', 2, { ttlMs: 5_000 });
    clock.advance(999);
    expect(await cache.get('a')).toBe(1);
    clock.advance(1);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBe(2);
    clock.advance(5_000);
    expect(await cache.get('b')).toBeUndefined();
  });

  it('delete removes from both tiers and reports whether the key existed', async () => {
    const cache = make();
    await cache.set('k', 'v');
    expect(await cache.delete('k')).toBe(true);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.delete('k')).toBe(false);
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

  it("a value larger than the memory adapter's maxBytes throws, keeps the old value and counts no failure", async () => {
    const adapter = memoryCacheAdapter({ maxBytes: 1_000 });
    const a = make({ adapter, circuitThreshold: 1 });
    const b = make({ adapter });
    const errors: unknown[] = [];
    for (const c of [a, b]) c.on('error', (e) => errors.push(e));
    const big = 'x'.repeat(2_000);
    await a.set('big', 'small');
    await expect(a.set('big', big)).rejects.toBeInstanceOf(CacheValueTooLargeError);
    // Neither this instance's L1 nor the adapter shows the refused write.
    expect(await a.get('big')).toBe('small');
    expect(await b.get('big')).toBe('small');
    await expect(a.setNX('big2', big)).rejects.toMatchObject({ code: 'ERR_CACHE_VALUE_TOO_LARGE' });
    await expect(a.setMany([{ key: 'big', value: big }])).rejects.toMatchObject({
      code: 'ERR_CACHE_VALUE_TOO_LARGE',
    });
    expect(await b.get('big')).toBe('small');
    // A refusal is an answer, not an outage: the circuit stays closed, nothing was reported dropped.
    expect(a.circuitState).toBe('closed');
    expect(errors).toEqual([]);
    expect(await b.setNX('big2', 'fits')).toBe(true);
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
