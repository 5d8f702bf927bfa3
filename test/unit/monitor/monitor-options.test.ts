import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../src/errors.js';
import type { PerformanceMonitorOptions } from '../../../src/monitor/monitor-options.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { make, request } from './monitor-fixture.js';

describe('PerformanceMonitor options checks', () => {
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
