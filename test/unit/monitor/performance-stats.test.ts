import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { make, request } from './monitor-fixture.js';

describe('PerformanceMonitor.getStats', () => {
  it('gives the design figures as numbers', () => {
    const { monitor, clock } = make();
    for (let i = 1; i <= 100; i++) request(monitor, clock, i);
    request(monitor, clock, 50, 500);
    request(monitor, clock, 50, 404);
    const s = monitor.getStats();
    expect(s.totalRequests).toBe(102);
    expect(s.errors).toBe(1);
    expect(s.errorRatio).toBeCloseTo(1 / 102, 10);
    expect(s.errorRate).toBeCloseTo(100 / 102, 10); // percent, as the design's
    expect(s.statusCodes).toEqual({ '200': 100, '404': 1, '500': 1 });
    const sorted = [...Array.from({ length: 100 }, (_, i) => i + 1), 50, 50].sort((a, b) => a - b);
    const exact = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
    for (const [q, value] of [
      [0.5, s.p50Ms],
      [0.95, s.p95Ms],
      [0.99, s.p99Ms],
    ] as const) {
      expect(Math.abs(value! - exact(q)) / exact(q)).toBeLessThan(0.01);
    }
    expect(s.p999Ms).toBeLessThanOrEqual(100);
    expect(s.averageResponseTimeMs).toBeCloseTo((5050 + 100) / 102, 6);
    expect(s.uptimeMs).toBe(clock.t - 1000);
    expect(s.requestsPerSecond).toBeCloseTo((102 * 1000) / (clock.t - 1000), 6);
    expect(s.inFlight).toBe(0);
    expect(typeof s.eventLoop.utilization).toBe('number');
    expect(s.eventLoop.delayP99Ms).toBeNull();
  });

  it('breaks figures down per route template', () => {
    const { monitor, clock } = make();
    for (let i = 0; i < 10; i++) request(monitor, clock, 10, 200, { method: 'GET', route: '/a' });
    for (let i = 0; i < 10; i++) request(monitor, clock, 100, 200, { method: 'POST', route: '/b' });
    request(monitor, clock, 100, 503, { method: 'POST', route: '/b' });
    const { routes } = monitor.getStats();
    expect(Object.keys(routes).sort()).toEqual(['/a', '/b']);
    expect(routes['/a']).toMatchObject({ requests: 10, errors: 0 });
    expect(Math.abs(routes['/a']!.p99Ms! - 10) / 10).toBeLessThan(0.01);
    expect(routes['/b']).toMatchObject({ requests: 11, errors: 1 });
    expect(routes['/b']!.errorRatio).toBeCloseTo(1 / 11, 10);
    expect(routes['/b']!.errorRate).toBeCloseTo(100 / 11, 10);
  });

  it('percentiles and rate cover the sliding window only', () => {
    const { monitor, clock } = make({ windowMs: 60_000, windowSlots: 6 });
    for (let i = 0; i < 50; i++) request(monitor, clock, 500);
    clock.t += 120_000;
    for (let i = 0; i < 50; i++) request(monitor, clock, 5);
    const s = monitor.getStats();
    expect(s.totalRequests).toBe(100);
    expect(s.window.requests).toBe(50);
    expect(s.p99Ms).toBeLessThan(5.1);
    expect(s.window.durationMs).toBeLessThanOrEqual(60_000);
    expect(s.requestsPerSecond).toBeCloseTo((50 * 1000) / s.window.durationMs, 6);
  });

  it('tracks requests in flight', () => {
    const { monitor, clock } = make();
    const a = monitor.recordRequest();
    monitor.recordRequest();
    expect(monitor.getStats().inFlight).toBe(2);
    clock.t += 1;
    monitor.recordResponse(a, 200);
    expect(monitor.getStats().inFlight).toBe(1);
    monitor.recordResponse(a, 200);
    monitor.recordResponse(a, 200);
    expect(monitor.getStats().inFlight).toBe(0);
  });
});

describe('durations too large to add up', () => {
  it('a record over MAX_RECORDED_MS counts the request as an invalid sample; sums and averages stay finite', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    try {
      const series = monitor.bind({ status: 200 });
      series.record(1e308);
      series.record(1e308);
      series.record(12);
      const stats = JSON.parse(JSON.stringify(monitor.toJSON()));
      expect(typeof stats.avgResponseTime).toBe('number');
      expect(stats.avgResponseTime).toBe(12);
      expect(stats.requestCount).toBe(3);
    } finally {
      await monitor.close();
    }
  });
});
