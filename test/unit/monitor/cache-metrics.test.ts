import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { TypedEmitter } from '../../../src/internal/events.js';
import { cacheMetricMappings } from '../../../src/monitor/cache-metrics.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

describe('cache metric mappings', () => {
  it('labels by the longest listed namespace, never by key, and adds the cache name', () => {
    const m = cacheMetricMappings({ name: 'c', namespaces: ['users', 'users:avatars'] });
    expect(m.hit.labels!({ key: 'users:avatars:1', tier: 'l1' })).toEqual({
      cache: 'c',
      namespace: 'users:avatars',
      tier: 'l1',
    });
    expect(m.miss.labels!({ key: 'users:7' })).toEqual({ cache: 'c', namespace: 'users' });
    expect(m.miss.labels!({ key: 'usersX:7' })).toEqual({ cache: 'c', namespace: undefined });
    expect(m.error.labels!({ operation: 'publish', error: new Error('x'), dropped: false })).toEqual({
      cache: 'c',
      namespace: undefined,
      operation: 'publish',
      dropped: false,
    });
  });

  it('refuses bad options with InvalidArgumentError', () => {
    expect(() => cacheMetricMappings({ namespaces: [''] })).toThrow(InvalidArgumentError);
    expect(() => cacheMetricMappings({ namespaces: 'users' as never })).toThrow(InvalidArgumentError);
    expect(() => cacheMetricMappings({ name: '' })).toThrow(InvalidArgumentError);
  });

  it('observeCache and observeClient feed their families and stop on unsubscribe', async () => {
    const monitor = new PerformanceMonitor();
    const cache = new TypedEmitter<{ miss: { key: string } }>();
    const client = new TypedEmitter<{
      'retry-budget-exhausted': { service: string; method: string; url: string };
    }>();
    const offCache = monitor.observeCache(cache as never);
    const offClient = monitor.observeClient(client as never);
    cache.emit('miss', { key: 'k' });
    client.emit('retry-budget-exhausted', { service: 'inv', method: 'GET', url: '/' });
    offCache();
    offClient();
    cache.emit('miss', { key: 'k' });
    client.emit('retry-budget-exhausted', { service: 'inv', method: 'GET', url: '/' });
    const text = await monitor.metrics();
    expect(text).toContain('\nscaleout_cache_misses_total 1\n');
    expect(text).toContain('\nscaleout_client_retry_budget_exhausted_total{service="inv"} 1\n');
    await monitor.close();
  });
});
