import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import { SlidingWindowHistogram } from '../../../src/monitor/sliding-window-histogram.js';

describe('SlidingWindowHistogram', () => {
  it('forgets values older than the window, slot by slot', () => {
    const w = new SlidingWindowHistogram({ windowMs: 60_000, slots: 6 }, 0);
    w.record(100, 0); // slot [0, 10s)
    w.record(200, 15_000); // slot [10s, 20s)
    expect(w.snapshot(15_000).count).toBe(2);
    expect(w.snapshot(59_999).count).toBe(2);
    // At 60s the first slot is reused: 100 is gone, 200 remains.
    const s = w.snapshot(60_000);
    expect(s.count).toBe(1);
    expect(s.max).toBe(200);
    expect(w.snapshot(70_000).count).toBe(0);
  });

  it('clears everything after a long idle gap and keeps recording', () => {
    const w = new SlidingWindowHistogram({ windowMs: 1000, slots: 4 }, 0);
    for (let t = 0; t < 1000; t += 10) w.record(5, t);
    expect(w.snapshot(999).count).toBe(100);
    w.record(7, 1_000_000);
    const s = w.snapshot(1_000_001);
    expect(s.count).toBe(1);
    expect(s.min).toBe(7);
  });

  it('reports the time it covers, capped at the window', () => {
    const w = new SlidingWindowHistogram({ windowMs: 1000, slots: 4 }, 500);
    expect(w.coveredMs(700)).toBe(200);
    expect(w.coveredMs(5000)).toBeLessThanOrEqual(1000);
    expect(w.coveredMs(5000)).toBeGreaterThanOrEqual(750);
  });

  it('validates its options', () => {
    expect(() => new SlidingWindowHistogram({ slots: 1 })).toThrow(InvalidOptionsError);
    expect(() => new SlidingWindowHistogram({ windowMs: -5 })).toThrow(InvalidOptionsError);
    expect(() => new SlidingWindowHistogram({ slots: 2.5 })).toThrow(InvalidOptionsError);
  });
});
