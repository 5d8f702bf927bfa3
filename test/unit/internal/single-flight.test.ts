import { describe, expect, it, vi } from 'vitest';
import { SingleFlight } from '../../../src/internal/single-flight.js';

describe('SingleFlight', () => {
  it('runs the function once for concurrent callers of one key', async () => {
    const flight = new SingleFlight<string, number>();
    let release!: (n: number) => void;
    const fn = vi.fn(() => new Promise<number>((r) => (release = r)));
    const calls = Array.from({ length: 100 }, () => flight.do('k', fn));
    expect(flight.has('k')).toBe(true);
    release(42);
    expect(await Promise.all(calls)).toEqual(Array(100).fill(42));
    expect(fn).toHaveBeenCalledTimes(1);
    expect(flight.size).toBe(0);
  });

  it('keeps keys apart', async () => {
    const flight = new SingleFlight<string, string>();
    const fn = vi.fn(async (k: string) => k.toUpperCase());
    const [a, b] = await Promise.all([flight.do('a', () => fn('a')), flight.do('b', () => fn('b'))]);
    expect([a, b]).toEqual(['A', 'B']);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('shares a rejection, then starts afresh', async () => {
    const flight = new SingleFlight<string, number>();
    const failing = vi.fn(async () => {
      throw new Error('db down');
    });
    const results = await Promise.allSettled([flight.do('k', failing), flight.do('k', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failing).toHaveBeenCalledTimes(1);
    expect(await flight.do('k', async () => 7)).toBe(7);
  });

  it('turns a synchronous throw into a rejection and clears the key', async () => {
    const flight = new SingleFlight<string, number>();
    await expect(
      flight.do('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(flight.has('k')).toBe(false);
  });
});
