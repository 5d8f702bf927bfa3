import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import { LruMap } from '../../../src/internal/lru.js';
import { fakeClock } from '../../helpers/clock.js';

describe('LruMap', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, number>({
      maxEntries: 3,
      onEvict: (k, _v, r) => evicted.push(`${k}:${r}`),
    });
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1); // a is now youngest
    lru.set('d', 4);
    expect(lru.has('b')).toBe(false);
    expect([...lru.keys()]).toEqual(['c', 'a', 'd']);
    expect(evicted).toEqual(['b:capacity']);
  });

  it('bounds total size and refuses an entry bigger than the bound', () => {
    const lru = new LruMap<string, string>({ maxSize: 10, sizeOf: (v) => v.length });
    lru.set('a', '12345');
    lru.set('b', '12345');
    expect(lru.totalSize).toBe(10);
    lru.set('c', '123');
    expect(lru.has('a')).toBe(false);
    expect(lru.totalSize).toBe(8);
    expect(lru.set('huge', 'x'.repeat(11))).toBe(false);
    expect(lru.has('huge')).toBe(false);
    expect(lru.totalSize).toBe(8);
  });

  it('replacing a key updates the size accounting', () => {
    const lru = new LruMap<string, string>({ maxSize: 100, sizeOf: (v) => v.length });
    lru.set('a', 'xxxx');
    lru.set('a', 'xx');
    expect(lru.totalSize).toBe(2);
    lru.delete('a');
    expect(lru.totalSize).toBe(0);
  });

  it('expires entries lazily by TTL with no timer', () => {
    const clock = fakeClock(1000);
    const evicted: string[] = [];
    const lru = new LruMap<string, number>({
      clock,
      onEvict: (k, _v, r) => evicted.push(`${k}:${r}`),
    });
    lru.set('a', 1, 100);
    lru.set('b', 2);
    expect(lru.peek('a')).toEqual({ value: 1, expiresAt: 1100 });
    clock.set(1100);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('b')).toBe(2);
    expect(evicted).toEqual(['a:expired']);
    expect(lru.size).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new LruMap({ maxEntries: 0 })).toThrow(InvalidOptionsError);
    expect(() => new LruMap({ maxSize: 0 })).toThrow(InvalidOptionsError);
  });
});
