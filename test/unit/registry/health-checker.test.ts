import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { HealthChecker } from '../../../src/registry/health-checker.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import type { ServiceInstance } from '../../../src/registry/service-instance.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';
import { checkedFleet, manualClock, share, url } from './helpers.js';

describe('health checks', () => {
  it('needs consecutive failures to mark an instance down and consecutive passes to bring it back', async () => {
    const clock = manualClock();
    const failing = new Set<string>();
    const registry = await checkedFleet(clock, failing, { slowStartMs: 0 });
    const events: ServiceRegistryEvents['health'][] = [];
    registry.on('health', (e) => events.push(e));
    failing.add(url(2));
    await registry.checkHealth();
    expect(events).toEqual([]); // one failed check is not enough: no flapping
    expect(share(registry, 40).has(url(2))).toBe(true);
    failing.delete(url(2));
    await registry.checkHealth();
    failing.add(url(2));
    await registry.checkHealth();
    expect(events).toEqual([]); // the pass in between reset the count
    await registry.checkHealth();
    expect(events.map((e) => [e.instance.id, e.healthy])).toEqual([[url(2), false]]);
    expect(share(registry, 200).has(url(2))).toBe(false);
    expect((await registry.instances('svc')).find((i) => i.id === url(2))?.healthy).toBe(false);
    failing.delete(url(2));
    await registry.checkHealth();
    expect(share(registry, 200).has(url(2))).toBe(false);
    await registry.checkHealth();
    expect(events.at(-1)).toMatchObject({ healthy: true });
    expect(share(registry, 200).has(url(2))).toBe(true);
  });
});

describe('HealthChecker', () => {
  it('checks 100 instances with 10 hanging in about one timeout, aborting the hanging ones', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let aborted = 0;
    const checker = new HealthChecker({
      timeoutMs: 300,
      concurrency: 16,
      check: (instance, signal) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        signal.addEventListener('abort', () => aborted++);
        const hangs = Number(new URL(instance.url).port) % 10 === 0;
        return new Promise<boolean>((resolve) => {
          if (!hangs) setTimeout(() => resolve(true), 5);
        }).finally(() => inFlight--);
      },
    });
    const instances: ServiceInstance[] = Array.from({ length: 100 }, (_, i) => {
      const u = `http://127.0.0.1:${5000 + i}/`;
      return { service: 's', id: u, url: u, weight: 1, metadata: {}, registeredAt: 0 };
    });
    const started = performance.now();
    const results = await checker.checkAll(instances);
    const elapsed = performance.now() - started;
    expect([...results.values()].filter((ok) => !ok)).toHaveLength(10);
    expect([...results.values()].filter((ok) => ok)).toHaveLength(90);
    expect(aborted).toBe(10);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    expect(maxInFlight).toBeGreaterThan(10);
    // One after another this would be 10 × 300 ms; generous bound for a loaded machine.
    expect(elapsed).toBeLessThan(2500);
    checker.close();
  });
});

describe('HealthChecker: timeoutMs past the 32-bit timer range', () => {
  it('a 35-day timeoutMs fails a check at 35 days, not at ~24.8 (the longest node timer)', async () => {
    let aborted = false;
    const checker = new HealthChecker({
      timeoutMs: PAST_TIMER_RANGE_MS,
      check: (_instance, signal) =>
        new Promise<boolean>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve(false);
          });
        }),
    });
    const u = 'http://127.0.0.1:5000/';
    const instance: ServiceInstance = {
      service: 's',
      id: u,
      url: u,
      weight: 1,
      metadata: {},
      registeredAt: 0,
    };
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let result: boolean | undefined;
      void checker.check(instance).then((v) => (result = v));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(aborted).toBe(false);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(aborted).toBe(true);
      expect(result).toBe(false);
    } finally {
      vi.useRealTimers();
      checker.close();
    }
  });
});
