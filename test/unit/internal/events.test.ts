import { describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../../../src/internal/events.js';

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
