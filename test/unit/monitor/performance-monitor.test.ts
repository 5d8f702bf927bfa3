import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';
import { TypedEmitter } from '../../../src/internal/events.js';
import type { PerformanceMonitorOptions } from '../../../src/monitor/monitor-options.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

const monitors: PerformanceMonitor[] = [];
function make(options: PerformanceMonitorOptions = {}): {
  monitor: PerformanceMonitor;
  clock: { t: number };
} {
  const clock = { t: 1000 };
  const monitor = new PerformanceMonitor({ eventLoop: false, now: () => clock.t, ...options });
  monitors.push(monitor);
  return { monitor, clock };
}

afterEach(async () => {
  vi.useRealTimers();
  for (const m of monitors.splice(0)) await m.close();
});

function request(
  monitor: PerformanceMonitor,
  clock: { t: number },
  ms: number,
  status = 200,
  labels = { method: 'GET', route: '/users/:id' },
) {
  const start = monitor.recordRequest();
  clock.t += ms;
  monitor.recordResponse(start, status, labels);
}

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

describe('PerformanceMonitor bad input', () => {
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

  it('labels absurd status codes "invalid" and counts them as errors', async () => {
    const { monitor, clock } = make();
    for (const status of [0, -1, 99, 600, 1e9, 200.5, Number.NaN, '200' as never, null as never]) {
      request(monitor, clock, 1, status);
    }
    const s = monitor.getStats();
    expect(s.statusCodes).toEqual({ invalid: 9 });
    expect(s.errors).toBe(9);
    const text = await monitor.metrics();
    expect(text).toContain('status="invalid"');
  });

  it('normalises methods to a closed set', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'get', route: '/' });
    request(monitor, clock, 1, 200, { method: 'BREW\n', route: '/' });
    request(monitor, clock, 1, 200, { method: 42 as never, route: '/' });
    const text = await monitor.metrics();
    expect(text).toContain('method="GET",route="/",status="200"');
    expect(text.match(/method="OTHER",route="\/",status="200",le="\+Inf"\} 2/)).not.toBeNull();
    expect(text).not.toContain('BREW');
  });

  it('escapes quotes, backslashes and newlines in label values', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'GET', route: '/a"b\\c\nd' });
    request(monitor, clock, 1, 200, { method: 'GET', route: '/lone\ud800' });
    const text = await monitor.metrics();
    expect(text).toContain('route="/a\\"b\\\\c\\nd"');
    expect(text).toContain('route="/lone\ufffd"');
    for (const line of text.split('\n')) expect(line.includes('\r')).toBe(false);
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

  it('truncates absurdly long route labels', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'GET', route: 'x'.repeat(10_000) });
    expect(Object.keys(monitor.getStats().routes)[0]).toHaveLength(200);
  });

  it('validates options at construction', () => {
    const bad: PerformanceMonitorOptions[] = [
      { windowMs: 0 },
      { windowSlots: 1 },
      { maxSeries: 0 },
      { errorStatusMin: 1000 },
      { metricPrefix: '1bad' },
      { bucketsMs: [] },
      { bucketsMs: [1, Number.NaN] },
      { reportIntervalMs: -1 },
      { scrapeSliceMs: 0 },
      { now: 5 as never },
      { onReport: 'x' as never },
    ];
    for (const options of bad)
      expect(() => new PerformanceMonitor(options), JSON.stringify(options)).toThrow(InvalidOptionsError);
  });
});

describe('PerformanceMonitor options', () => {
  it('prefixes every metric name with metricPrefix', async () => {
    const { monitor, clock } = make({ metricPrefix: 'shop_' });
    const events = new EventEmitter();
    monitor.observe(events, 'cache', { hit: {} });
    request(monitor, clock, 2);
    events.emit('hit', {});
    const names = new Set(
      (await monitor.metrics())
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]!),
    );
    expect(names.size).toBeGreaterThan(5);
    for (const name of names) expect(name.startsWith('shop_')).toBe(true);
    expect(names.has('shop_http_request_duration_seconds_bucket')).toBe(true);
    expect(names.has('shop_scaleout_cache_hit_total')).toBe(true);
  });

  it('counts 4xx as errors with errorStatusMin: 400', () => {
    const { monitor, clock } = make({ errorStatusMin: 400 });
    request(monitor, clock, 1, 404);
    request(monitor, clock, 1, 200);
    expect(monitor.getStats()).toMatchObject({ errors: 1, errorRatio: 0.5, errorRate: 50 });
  });

  it('exposes the requested bucketsMs as le bounds', async () => {
    const { monitor, clock } = make({ bucketsMs: [10, 100] });
    request(monitor, clock, 2);
    const les = (await monitor.metrics()).match(/le="[^"]+"/g);
    expect(les).toHaveLength(3);
    expect(les![2]).toBe('le="+Inf"');
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

describe('PerformanceMonitor reporting', () => {
  it('reports to a callback and a logger on an interval, and stops on close', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const reports: number[] = [];
    const info = vi.fn();
    const { monitor, clock } = make({
      reportIntervalMs: 1000,
      onReport: (s) => reports.push(s.totalRequests),
      logger: { info },
    });
    request(monitor, clock, 3);
    vi.advanceTimersByTime(1000);
    expect(reports).toEqual([1]);
    expect(info).toHaveBeenCalledWith('performance stats', expect.objectContaining({ totalRequests: 1 }));
    vi.advanceTimersByTime(1000);
    expect(reports).toEqual([1, 1]);
    await monitor.close();
    vi.advanceTimersByTime(5000);
    expect(reports).toHaveLength(2);
  });

  it('survives a throwing report callback and tells the logger', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const error = vi.fn();
    make({
      reportIntervalMs: 10,
      onReport: () => {
        throw new Error('boom');
      },
      logger: { error },
    });
    vi.advanceTimersByTime(10);
    expect(error).toHaveBeenCalledWith('performance report failed', { error: 'Error: boom' });
  });

  it('measures the real event loop when enabled', async () => {
    const monitor = new PerformanceMonitor({ eventLoopResolutionMs: 10 });
    monitors.push(monitor);
    await new Promise((r) => setTimeout(r, 60));
    const blockUntil = performance.now() + 80;
    while (performance.now() < blockUntil) {
      // block the loop so the delay monitor sees it
    }
    await new Promise((r) => setTimeout(r, 60));
    const { eventLoop } = monitor.getStats();
    expect(eventLoop.delayP50Ms).toBeGreaterThanOrEqual(0);
    expect(eventLoop.delayMaxMs).toBeGreaterThanOrEqual(60);
    expect(eventLoop.delayMaxMs).toBeGreaterThanOrEqual(eventLoop.delayP99Ms!);
    expect(eventLoop.utilization).toBeGreaterThanOrEqual(0);
    expect(eventLoop.utilization).toBeLessThanOrEqual(1);
    expect(await monitor.metrics()).toMatch(/nodejs_eventloop_lag_p99_seconds \d/);
  });
});

describe('PerformanceMonitor.observe', () => {
  type ClientEvents = {
    request: { service: string; durationMs: number; outcome: 'ok' | 'error' };
    retry: { service: string };
  };

  it('turns TypedEmitter events into histograms and counters', async () => {
    const { monitor } = make();
    const events = new TypedEmitter<ClientEvents>();
    monitor.observe<ClientEvents>(events, 'service_client', {
      request: {
        durationMs: (e) => e.durationMs,
        labels: (e) => ({ service: e.service, outcome: e.outcome }),
      },
      retry: { labels: (e) => ({ service: e.service }) },
    });
    for (let i = 1; i <= 10; i++)
      events.emit('request', { service: 'inventory', durationMs: i, outcome: 'ok' });
    events.emit('request', { service: 'inventory', durationMs: 900, outcome: 'error' });
    events.emit('retry', { service: 'inventory' });
    events.emit('retry', { service: 'inventory' });
    const text = await monitor.metrics();
    expect(text).toContain('# TYPE scaleout_service_client_request_duration_seconds histogram');
    expect(text).toContain(
      'scaleout_service_client_request_duration_seconds_count{outcome="ok",service="inventory"} 10',
    );
    expect(text).toContain(
      'scaleout_service_client_request_duration_seconds_count{outcome="error",service="inventory"} 1',
    );
    expect(text).toContain('# TYPE scaleout_service_client_retry_total counter');
    expect(text).toContain('scaleout_service_client_retry_total{service="inventory"} 2');
    const json = monitor.toJSON().events;
    expect(json.scaleout_service_client_retry_total).toEqual({ 'service="inventory"': 2 });
  });

  it('works with a node EventEmitter, unsubscribes, and survives a throwing mapping', async () => {
    const error = vi.fn();
    const { monitor } = make({ logger: { error } });
    const cache = new EventEmitter();
    const off = monitor.observe(cache, 'cache', {
      hit: {},
      miss: {
        labels: () => {
          throw new Error('bad mapping');
        },
      },
    });
    cache.emit('hit', {});
    cache.emit('hit', {});
    expect(() => cache.emit('miss', {})).not.toThrow();
    expect(error).toHaveBeenCalledWith('observe mapping threw', expect.objectContaining({ event: 'miss' }));
    expect(await monitor.metrics()).toContain('scaleout_cache_hit_total 2');
    off();
    expect(cache.listenerCount('hit')).toBe(0);
    cache.emit('hit', {});
    expect(await monitor.metrics()).toContain('scaleout_cache_hit_total 2');
  });

  it('caps event series and unsubscribes everything on close', async () => {
    const { monitor } = make({ maxSeries: 5 });
    const events = new TypedEmitter<{ hit: { key: string } }>();
    monitor.observe<{ hit: { key: string } }>(events, 'cache', { hit: { labels: (e) => ({ key: e.key }) } });
    for (let i = 0; i < 1000; i++) events.emit('hit', { key: `k${i}` });
    const text = await monitor.metrics();
    expect(text.match(/^scaleout_cache_hit_total\{/gm)).toHaveLength(6);
    expect(text).toContain('scaleout_cache_hit_total{overflow="true"} 995');
    await monitor.close();
    expect(events.has('hit')).toBe(false);
  });

  it('refuses a non-emitter', () => {
    const { monitor } = make();
    expect(() => monitor.observe({} as never, 'x', {})).toThrow(InvalidArgumentError);
    expect(() => monitor.observe(new EventEmitter(), '', {})).toThrow(InvalidArgumentError);
  });
});
