import { describe, expect, it } from 'vitest';
import { MemoryCacheAdapter, memoryCacheAdapter } from '../../../../src/adapters/memory/index.js';
import { CacheValueTooLargeError, ClosedError, InvalidOptionsError } from '../../../../src/errors.js';
import { fakeClock } from '../../../helpers/clock.js';

describe('MemoryCacheAdapter', () => {
  it('is bounded by entries: the least recently used go first', async () => {
    const adapter = memoryCacheAdapter({ maxEntries: 3 });
    await adapter.set('a', '1');
    await adapter.set('b', '2');
    await adapter.set('c', '3');
    await adapter.get('a');
    await adapter.set('d', '4');
    expect(await adapter.getMany(['a', 'b', 'c', 'd'])).toEqual(['1', undefined, '3', '4']);
    expect(adapter.size).toBe(3);
  });

  it('is bounded by bytes (UTF-8 of key and value)', async () => {
    const adapter = memoryCacheAdapter({ maxBytes: 100 });
    await adapter.set('a', 'x'.repeat(40));
    await adapter.set('b', 'é'.repeat(20)); // 40 bytes
    expect(adapter.bytes).toBe(82);
    await adapter.set('c', 'y'.repeat(40));
    expect(await adapter.get('a')).toBeUndefined();
    expect(adapter.bytes).toBeLessThanOrEqual(100);
  });

  it('refuses an entry larger than maxBytes on its own with CacheValueTooLargeError, keeping the old value', async () => {
    const adapter = memoryCacheAdapter({ maxBytes: 100 });
    await adapter.set('k', 'old');
    const tooLarge = { code: 'ERR_CACHE_VALUE_TOO_LARGE', bytes: 101, maxBytes: 100 };
    // 'k' + 98 two-byte characters: 197 bytes, though only 99 UTF-16 units.
    await expect(adapter.set('k', 'é'.repeat(98))).rejects.toMatchObject({ ...tooLarge, bytes: 197 });
    await expect(adapter.set('k', 'z'.repeat(100))).rejects.toBeInstanceOf(CacheValueTooLargeError);
    await expect(adapter.set('k', 'z'.repeat(100))).rejects.toMatchObject(tooLarge);
    expect(await adapter.get('k')).toBe('old');
    await expect(adapter.setIfAbsent('absent', 'z'.repeat(200))).rejects.toMatchObject({
      code: 'ERR_CACHE_VALUE_TOO_LARGE',
    });
    expect(await adapter.get('absent')).toBeUndefined();
    // setMany is all or nothing: the entry that fits is not stored either.
    await expect(
      adapter.setMany([
        { key: 'fits', value: 'v' },
        { key: 'k', value: 'z'.repeat(100) },
      ]),
    ).rejects.toMatchObject(tooLarge);
    expect(await adapter.getMany(['fits', 'k'])).toEqual([undefined, 'old']);
    // Exactly maxBytes fits.
    await adapter.set('k', 'z'.repeat(99));
    expect(await adapter.get('k')).toBe('z'.repeat(99));
  });

  it('expires lazily with an injected clock and holds no timers', async () => {
    let now = 1_000;
    const adapter = new MemoryCacheAdapter({ now: () => now });
    await adapter.set('k', 'v', { ttlMs: 100 });
    now += 99;
    expect(await adapter.get('k')).toBe('v');
    now += 1;
    expect(await adapter.get('k')).toBeUndefined();
    expect(await adapter.setIfAbsent('k', 'again', { ttlMs: 10 })).toBe(true);
  });

  it('reads expiry time from its clock; the deprecated now still works, not both at once', async () => {
    const clock = fakeClock(1_000);
    const adapter = memoryCacheAdapter({ clock });
    await adapter.set('k', 'v', { ttlMs: 100 });
    clock.advance(99);
    expect(await adapter.get('k')).toBe('v');
    clock.advance(1);
    expect(await adapter.get('k')).toBeUndefined();
    expect(() => memoryCacheAdapter({ clock: { now: () => 1 } as never })).toThrow(InvalidOptionsError);
    expect(() => memoryCacheAdapter({ clock, now: () => 1 })).toThrow(InvalidOptionsError);
  });

  it('increment keeps the remaining TTL when none is given', async () => {
    let now = 0;
    const adapter = new MemoryCacheAdapter({ now: () => now });
    await adapter.increment('n', { by: 1, ttlMs: 100 });
    now = 60;
    expect(await adapter.increment('n', { by: 1 })).toBe(2);
    now = 100;
    expect(await adapter.get('n')).toBeUndefined();
  });

  it('validates options and refuses use after close', async () => {
    expect(() => memoryCacheAdapter({ maxEntries: 0 })).toThrow(InvalidOptionsError);
    expect(() => memoryCacheAdapter({ maxBytes: -1 })).toThrow(InvalidOptionsError);
    const adapter = memoryCacheAdapter();
    await adapter.close();
    await expect(adapter.get('k')).rejects.toBeInstanceOf(ClosedError);
  });
});
