import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import { fullJitterBackoff } from '../../../src/resilience/backoff.js';

describe('fullJitterBackoff', () => {
  it('grows exponentially under the cap when random is at its top', () => {
    const backoff = fullJitterBackoff({ baseMs: 100, maxMs: 5_000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 5, 6].map(backoff)).toEqual([99, 199, 399, 799, 1599, 3199, 4999]);
  });

  it('is zero when random is zero (full jitter reaches the floor)', () => {
    const backoff = fullJitterBackoff({ baseMs: 100, maxMs: 5_000, random: () => 0 });
    expect(backoff(10)).toBe(0);
  });

  it('never exceeds the cap, even for huge or odd attempt numbers', () => {
    const backoff = fullJitterBackoff({ baseMs: 50, maxMs: 1_000, random: () => 0.999999 });
    for (const attempt of [20, 1023, 1024, 5_000, Number.MAX_SAFE_INTEGER, Infinity]) {
      const d = backoff(attempt);
      expect(d).toBeLessThan(1_000);
      expect(Number.isFinite(d)).toBe(true);
    }
    expect(backoff(-3)).toBe(49);
    expect(backoff(Number.NaN)).toBe(49);
  });

  it('spreads delays uniformly over [0, ceiling)', () => {
    const backoff = fullJitterBackoff({ baseMs: 1000, maxMs: 1000 });
    const samples = Array.from({ length: 20_000 }, () => backoff(3));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(470);
    expect(mean).toBeLessThan(530);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(1000);
  });

  it('rejects invalid options with a typed error', () => {
    expect(() => fullJitterBackoff({ baseMs: -1 })).toThrow(InvalidOptionsError);
    expect(() => fullJitterBackoff({ baseMs: 100, maxMs: 10 })).toThrow(InvalidOptionsError);
    expect(() => fullJitterBackoff({ maxMs: Infinity })).toThrow(InvalidOptionsError);
  });
});
