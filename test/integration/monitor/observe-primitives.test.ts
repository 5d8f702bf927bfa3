/**
 * PerformanceMonitor wired to the other primitives: a real ServiceClient
 * calling a loopback upstream through a ServiceRegistry, and a real
 * DistributedCache (memory adapter, and Redis adapter on a real
 * redis-server). The /metrics text must carry the expected series and pass
 * promtool.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/memory-cache-adapter.js';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { CacheAdapter } from '../../../src/contracts/cache.js';
import { CircuitOpenError } from '../../../src/errors.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { parseSamples, type Sample } from '../../helpers/prometheus-text.js';
import { promtoolCheck } from '../../helpers/promtool.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
      Object.keys(s.labels).length === Object.keys(labels).length,
  );
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

async function scrape(monitor: PerformanceMonitor): Promise<Sample[]> {
  const text = await monitor.metrics();
  const { status, output } = promtoolCheck(text);
  expect(output).toBe('');
  expect(status).toBe(0);
  return parseSamples(text);
}

describe('monitor.observeClient with a real ServiceClient', () => {
  it('counts attempts by outcome with their latency, retries by cause and breaker changes per service', async () => {
    const up = await startFakeUpstream();
    cleanups.push(() => up.close());
    const registry = new ServiceRegistry();
    cleanups.push(() => registry.close());
    await registry.register('inventory', up.url);
    const monitor = new PerformanceMonitor();
    cleanups.push(() => monitor.close());
    const client = new ServiceClient(
      { service: 'inventory', registry },
      {
        retry: { backoff: { baseMs: 1, maxMs: 5 } },
        retryBudget: false,
        breaker: { consecutiveFailures: 4 },
      },
    );
    cleanups.push(() => client.close());
    const off = monitor.observeClient(client);

    up.set({ failNext: 2, failStatus: 503, latencyMs: 20 });
    await expect(client.get('/stock')).resolves.toMatchObject({ ok: true });
    up.set({ failRate: 1, latencyMs: 0 });
    // Call 2: three 503s. Call 3: a 4th 503 in a row opens the circuit; its retry finds it open.
    await expect(client.get('/stock')).rejects.toMatchObject({ code: 'ERR_HTTP_STATUS' });
    await expect(client.get('/stock')).rejects.toBeInstanceOf(CircuitOpenError);

    const samples = await scrape(monitor);
    const attempts = 'scaleout_client_attempt_duration_seconds_count';
    expect(value(samples, attempts, { service: 'inventory', outcome: 'success' })).toBe(1);
    expect(value(samples, attempts, { service: 'inventory', outcome: 'server-error' })).toBe(6);
    const slow = value(samples, 'scaleout_client_attempt_duration_seconds_sum', {
      service: 'inventory',
      outcome: 'success',
    })!;
    expect(slow).toBeGreaterThanOrEqual(0.015); // the 20 ms answer, in seconds
    expect(slow).toBeLessThan(10);
    expect(
      value(samples, 'scaleout_client_retries_total', { service: 'inventory', reason: 'ERR_HTTP_STATUS' }),
    ).toBe(5); // 2 (call 1) + 2 (call 2) + 1 (call 3, then refused by the open circuit)
    expect(
      value(samples, 'scaleout_client_breaker_transitions_total', {
        service: 'inventory',
        from: 'closed',
        to: 'open',
      }),
    ).toBe(1);
    const buckets = samples.filter((s) => s.name === 'scaleout_client_attempt_duration_seconds_bucket');
    expect(buckets.length).toBeGreaterThan(2);

    // Unsubscribed: later calls change nothing.
    off();
    await client.get('/stock').catch(() => {});
    const again = await scrape(monitor);
    expect(value(again, attempts, { service: 'inventory', outcome: 'server-error' })).toBe(6);
  });
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const adapters: Array<{
  name: string;
  make: () => { adapter: CacheAdapter; corrupt?: (key: string) => Promise<void> };
}> = [
  { name: 'memory adapter', make: () => ({ adapter: memoryCacheAdapter() }) },
  {
    name: 'Redis adapter on a real redis-server',
    make: () => {
      const prefix = uniquePrefix('observe-cache');
      const admin = redis.client();
      return {
        adapter: redisCacheAdapter({ connection: redis.client(), prefix }),
        corrupt: async (key) => {
          await admin.set(`${prefix}v:${key}`, 'not an envelope', 'PX', 60_000);
        },
      };
    },
  },
];

describe.each(adapters)('monitor.observeCache with a real DistributedCache ($name)', ({ make }) => {
  it('counts hits, misses, stale serves, loader runs and errors per listed namespace, never per key', async () => {
    const { adapter, corrupt } = make();
    // No foreground refresh of a stale value: it is served (grace) and refreshed in the background.
    const cache = new DistributedCache({ adapter, softTimeoutMs: 0 });
    cleanups.push(async () => {
      await cache.close();
      await adapter.close();
    });
    const monitor = new PerformanceMonitor();
    cleanups.push(() => monitor.close());
    monitor.observeCache(cache, { name: 'catalog', namespaces: ['users', 'products'] });
    const users = cache.namespace('users');
    const products = cache.namespace('products');

    for (let i = 0; i < 5; i++) {
      await users.getOrSet(`u${i}`, async () => ({ id: i }), { ttlMs: 60_000 });
      await users.get(`u${i}`);
    }
    await products.get('missing');
    await cache.get('root-key');
    await products.set('p1', 1, { ttlMs: 30, graceMs: 60_000 });
    await new Promise((r) => setTimeout(r, 80));
    const refreshed = new Promise<void>((resolve) => {
      const off = cache.on('refresh', (e) => {
        if (e.key === 'products:p1') resolve(off());
      });
    });
    await expect(products.getOrSet('p1', async () => 2, { ttlMs: 60_000, graceMs: 60_000 })).resolves.toBe(1);
    await refreshed;
    if (corrupt !== undefined) {
      await corrupt('users:bad');
      await users.get('bad');
    }

    const samples = await scrape(monitor);
    const inUsers = { cache: 'catalog', namespace: 'users' };
    // Five cold keys, plus the unreadable one (a miss and an error).
    expect(value(samples, 'scaleout_cache_misses_total', inUsers)).toBe(corrupt === undefined ? 5 : 6);
    const hits = samples
      .filter((s) => s.name === 'scaleout_cache_hits_total' && s.labels.namespace === 'users')
      .reduce((n, s) => n + s.value, 0);
    expect(hits).toBe(5);
    // 'missing', and 'p1' once expired (no fresh value: a miss, served stale within grace).
    expect(value(samples, 'scaleout_cache_misses_total', { cache: 'catalog', namespace: 'products' })).toBe(
      2,
    );
    // A key outside every listed namespace: no namespace label.
    expect(value(samples, 'scaleout_cache_misses_total', { cache: 'catalog' })).toBe(1);
    const refreshes = samples
      .filter(
        (s) => s.name === 'scaleout_cache_refresh_duration_seconds_count' && s.labels.namespace === 'users',
      )
      .reduce((n, s) => n + s.value, 0);
    expect(refreshes).toBe(5);
    const refreshedProducts = samples
      .filter(
        (s) =>
          s.name === 'scaleout_cache_refresh_duration_seconds_count' && s.labels.namespace === 'products',
      )
      .reduce((n, s) => n + s.value, 0);
    expect(refreshedProducts).toBe(1);
    const stale = samples.filter((s) => s.name === 'scaleout_cache_stale_total');
    expect(stale.map((s) => s.labels)).toEqual([
      { cache: 'catalog', namespace: 'products', reason: 'grace' },
    ]);
    expect(stale[0]!.value).toBe(1);
    if (corrupt !== undefined) {
      const errors = samples.filter((s) => s.name === 'scaleout_cache_errors_total');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((s) => s.labels.namespace === 'users' && s.labels.cache === 'catalog')).toBe(true);
    }
    // Keys never become label values.
    expect(samples.some((s) => Object.values(s.labels).some((v) => /u\d|p1|bad|root-key/.test(v)))).toBe(
      false,
    );
  });
});
