import { describe, expect, it } from 'vitest';
import { make, request } from './monitor-fixture.js';

describe('the series table (PerformanceMonitor bad input)', () => {
  it('counts requests with unusable durations without recording a latency', () => {
    const { monitor, clock } = make();
    monitor.recordResponse('soon' as never, 200);
    monitor.recordResponse(Number.NaN, 200);
    monitor.recordResponse(clock.t + 50, 200); // negative duration
    monitor.recordResponse(undefined as never, 200);
    monitor.bind({ method: 'GET', route: '/x', status: 200 }).record(Number.POSITIVE_INFINITY);
    const s = monitor.getStats();
    expect(s.totalRequests).toBe(5);
    expect(s.invalidSamples).toBe(5);
    expect(s.p99Ms).toBeNull();
    expect(s.window.requests).toBe(5);
  });

  it('caps series: unbounded routes go to an overflow series per status class, memory stays flat', () => {
    const { monitor, clock } = make({ maxSeries: 100 });
    for (let i = 0; i < 100; i++) request(monitor, clock, 1, 200, { method: 'GET', route: `/r/${i}` });
    const before = process.memoryUsage().heapUsed;
    for (let i = 100; i < 50_100; i++) {
      request(monitor, clock, 1, i % 10 === 0 ? 500 : 200, { method: 'GET', route: `/raw/path/${i}` });
    }
    const s = monitor.getStats();
    expect(Object.keys(s.routes)).toHaveLength(101);
    expect(s.routes.__overflow__!.requests).toBe(50_000);
    expect(s.routes.__overflow__!.errors).toBe(5000);
    expect(s.errors).toBe(5000);
    expect(s.statusCodes).toEqual({ '200': 100, '2xx': 45_000, '5xx': 5000 });
    // 50k new route strings would hold ≥ 50k × 8 KB = 400 MB if each got a histogram.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('PerformanceMonitor.bind', () => {
  it('returns the same series for the same labels and records into it', () => {
    const { monitor } = make();
    const a = monitor.bind({ method: 'GET', route: '/x', status: 200 });
    expect(monitor.bind({ method: 'GET', route: '/x', status: 200 })).toBe(a);
    expect(monitor.bind({ method: 'GET', route: '/x', status: 201 })).not.toBe(a);
    for (let i = 0; i < 1000; i++) a.record(i);
    expect(a.histogram.count).toBe(1000);
    const s = monitor.getStats();
    expect(s.totalRequests).toBe(1000);
    expect(s.statusCodes['200']).toBe(1000);
    expect(Math.abs(s.p99Ms! - 989) / 989).toBeLessThan(0.01);
  });
});
