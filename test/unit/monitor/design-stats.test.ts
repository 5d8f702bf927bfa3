import { afterEach, describe, expect, it } from 'vitest';
import type { PerformanceMonitorOptions } from '../../../src/monitor/monitor-options.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

const monitors: PerformanceMonitor[] = [];
function make(options: PerformanceMonitorOptions = {}) {
  const clock = { t: 1_000 };
  const monitor = new PerformanceMonitor({ eventLoop: false, now: () => clock.t, ...options });
  monitors.push(monitor);
  return { monitor, clock };
}
afterEach(async () => {
  for (const m of monitors.splice(0)) await m.close();
});

describe("the design's PerformanceMonitor names keep their meaning", () => {
  it('recordRequest returns a start time and recordResponse(startTime, statusCode) returns the response time in ms', () => {
    const { monitor, clock } = make();
    const start = monitor.recordRequest();
    clock.t += 12.5;
    expect(monitor.recordResponse(start, 200)).toBe(12.5);
    expect(monitor.recordResponse('not a start' as never, 200)).toBeNaN();
  });

  it("getStats() has the design's fields, as numbers, with the design's units and meanings", () => {
    const { monitor, clock } = make({ errorStatusMin: 400 });
    for (let i = 1; i <= 18; i++) {
      const start = monitor.recordRequest();
      clock.t += i;
      monitor.recordResponse(start, 200);
    }
    for (const status of [404, 500]) {
      const start = monitor.recordRequest();
      clock.t += 10;
      monitor.recordResponse(start, status);
    }
    monitor.recordRequest(); // still in flight: the design counted it at recordRequest()
    clock.t = 11_000; // ten seconds after the start
    const s = monitor.getStats();
    expect(s.requestCount).toBe(21);
    expect(s.errorsCount).toBe(2);
    expect(s.errorRate).toBeCloseTo(10, 10); // percent, as the design's '10.00%'
    expect(s.errorRatio).toBeCloseTo(0.1, 10);
    const durations = [...Array.from({ length: 18 }, (_, i) => i + 1), 10, 10];
    expect(s.avgResponseTime).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / 20, 6);
    const sorted = [...durations].sort((x, y) => x - y);
    const exact = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
    expect(Math.abs(s.p95ResponseTime - exact(0.95)) / exact(0.95)).toBeLessThan(0.01);
    expect(Math.abs(s.p99ResponseTime - exact(0.99)) / exact(0.99)).toBeLessThan(0.01);
    expect(s.requestsPerSecond).toBeGreaterThan(0);
    expect(s.statusCodes).toEqual({ '200': 18, '404': 1, '500': 1 });
    expect(s.uptime).toBe(10); // seconds, as the design's '10s'
    for (const key of [
      'requestCount',
      'errorsCount',
      'errorRate',
      'avgResponseTime',
      'p95ResponseTime',
      'p99ResponseTime',
      'requestsPerSecond',
      'uptime',
    ] as const) {
      expect(typeof s[key], key).toBe('number');
    }
    // The JSON of the design's /metrics route carries them too.
    expect(JSON.parse(JSON.stringify(monitor.getStats()))).toMatchObject({
      requestCount: 21,
      errorsCount: 2,
    });
  });

  it('before any request every design figure is 0, as the design gives', () => {
    const { monitor } = make();
    expect(monitor.getStats()).toMatchObject({
      requestCount: 0,
      errorsCount: 0,
      errorRate: 0,
      avgResponseTime: 0,
      p95ResponseTime: 0,
      p99ResponseTime: 0,
      requestsPerSecond: 0,
      statusCodes: {},
      uptime: 0,
    });
  });
});
