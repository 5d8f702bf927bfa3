import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import { TypedEmitter } from '../../../src/internal/events.js';
import { LruMap } from '../../../src/internal/lru.js';

describe('TypedEmitter', () => {
  it('delivers payloads, unsubscribes, and reports listener presence', () => {
    const events = new TypedEmitter<{ hit: { key: string }; miss: { key: string } }>();
    const seen: string[] = [];
    expect(events.has('hit')).toBe(false);
    const off = events.on('hit', (p) => seen.push(p.key));
    expect(events.has('hit')).toBe(true);
    events.emit('hit', { key: 'a' });
    events.emit('miss', { key: 'b' });
    off();
    events.emit('hit', { key: 'c' });
    expect(seen).toEqual(['a']);
    expect(events.has('hit')).toBe(false);
  });

  it('isolates a throwing listener and logs it', () => {
    const error = vi.fn();
    const events = new TypedEmitter<{ e: number }>({ error });
    const after = vi.fn();
    events.on('e', () => {
      throw new Error('listener bug');
    });
    events.on('e', after);
    expect(() => events.emit('e', 1)).not.toThrow();
    expect(after).toHaveBeenCalledWith(1);
    expect(error).toHaveBeenCalledTimes(1);
  });
});

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
    let now = 1000;
    const evicted: string[] = [];
    const lru = new LruMap<string, number>({
      now: () => now,
      onEvict: (k, _v, r) => evicted.push(`${k}:${r}`),
    });
    lru.set('a', 1, 100);
    lru.set('b', 2);
    expect(lru.peek('a')).toEqual({ value: 1, expiresAt: 1100 });
    now = 1100;
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
