import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { TypedEmitter } from '../../../src/internal/events.js';
import { make } from './monitor-fixture.js';

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

  it("tells 'observe-error' listeners of every dropped event, with its reason", () => {
    const { monitor } = make();
    const source = new EventEmitter();
    const dropped: unknown[] = [];
    monitor.on('observe-error', (e) => dropped.push(e));
    monitor.observe(source, 'thing', {
      boom: {
        labels: () => {
          throw new Error('mapping bug');
        },
      },
      odd: { labels: () => new Map() as never },
    });
    source.emit('boom', {});
    source.emit('odd', {});
    expect(dropped).toEqual([
      { source: 'thing', event: 'boom', reason: 'mapping-threw' },
      { source: 'thing', event: 'odd', reason: 'unusable-labels' },
    ]);
  });
});

describe('closing the monitor leaves what it observes open', () => {
  it('an observed DistributedCache keeps working after monitor.close(), and is no longer counted', async () => {
    const { monitor } = make();
    const cache = new DistributedCache();
    try {
      monitor.observeCache(cache);
      await cache.get('absent');
      const misses = async () =>
        Number(/scaleout_cache_misses_total (\d+)/.exec(await monitor.metrics())?.[1] ?? 0);
      expect(await misses()).toBe(1);
      await monitor.close();
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      await cache.get('absent-too');
      expect(await misses()).toBe(1);
    } finally {
      await cache.close();
    }
  });
});
