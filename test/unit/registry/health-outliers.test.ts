import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { powerOfTwoChoicesBalancer } from '../../../src/registry/balancers/power-of-two-choices.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import { HealthChecker } from '../../../src/registry/health-checker.js';
import type { ServiceInstance } from '../../../src/registry/service-instance.js';
import {
  ServiceRegistry,
  type ServiceRegistryEvents,
  type ServiceRegistryOptions,
} from '../../../src/registry/service-registry.js';
import type { Clock } from '../../../src/types.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let t = 1_700_000_000_000;
  return { now: () => t, monotonic: () => t, advance: (ms) => (t += ms) };
}

const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function fleet(n: number, options: ServiceRegistryOptions = {}): Promise<ServiceRegistry> {
  const registry = new ServiceRegistry({
    adapter: memoryRegistryAdapter({ clock: options.clock }),
    balancer: roundRobinBalancer,
    ...options,
  });
  open.push(registry);
  for (let i = 0; i < n; i++)
    await registry.register('svc', `http://127.0.0.1:${4000 + i}`, { ttlMs: 60_000 });
  await registry.watch('svc');
  return registry;
}

function share(registry: ServiceRegistry, picks: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const id = registry.pick('svc').id;
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

/** The id (normalised URL) of the i-th instance. */
const url = (i: number) => `http://127.0.0.1:${4000 + i}/`;

describe('outlier ejection', () => {
  it('ejects after consecutive failures, not before; success and 4xx reset the count', async () => {
    const clock = manualClock();
    const registry = await fleet(4, { clock, outlierDetection: { consecutiveFailures: 3 } });
    const events: ServiceRegistryEvents['ejection'][] = [];
    registry.on('ejection', (e) => events.push(e));
    const fail = (outcome: 'server-error' | 'connect-error' | 'timeout' | 'success' | 'client-error') => {
      const call = registry.startCall('svc', { exclude: [url(1), url(2), url(3)] });
      call.end({ outcome, latencyMs: 5 });
    };
    fail('server-error');
    fail('server-error');
    fail('success');
    fail('connect-error');
    fail('timeout');
    fail('client-error');
    fail('server-error');
    fail('server-error');
    expect(events).toEqual([]);
    fail('cancelled' as never);
    fail('timeout');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ejected: true, durationMs: 30_000 });
    expect(share(registry, 300).has(url(0))).toBe(false);
  });

  it('ejects at most maxEjectionPercent of the fleet, and lets instances back with growing ejection time', async () => {
    const clock = manualClock();
    const registry = await fleet(4, {
      clock,
      slowStartMs: 0,
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionPercent: 50 },
    });
    const events: ServiceRegistryEvents['ejection'][] = [];
    registry.on('ejection', (e) => events.push(e));
    for (let i = 0; i < 4; i++) {
      const call = registry.startCall('svc', { exclude: [0, 1, 2, 3].filter((j) => j !== i).map(url) });
      call.end({ outcome: 'server-error' });
    }
    expect(events.filter((e) => e.ejected)).toHaveLength(2);
    expect(new Set(share(registry, 100).keys()).size).toBe(2);
    clock.advance(1001);
    expect(new Set(share(registry, 100).keys()).size).toBe(4);
    expect(events.filter((e) => !e.ejected)).toHaveLength(2);
    // The same instance ejected again at once: twice as long.
    const first = events[0]!.instance;
    registry
      .startCall('svc', { exclude: [0, 1, 2, 3].map(url).filter((u) => u !== first.id) })
      .end({ outcome: 'server-error' });
    expect(events.at(-1)).toMatchObject({ ejected: true, durationMs: 2000 });
    clock.advance(1500);
    expect(share(registry, 100).has(first.id)).toBe(false);
    clock.advance(600);
    expect(share(registry, 100).has(first.id)).toBe(true);
  });
});

describe('latency estimates', () => {
  it('decay without new samples, so an instance that answered slowly once is tried again (power of two choices)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const clock = manualClock();
      const registry = await fleet(3, { clock, balancer: powerOfTwoChoicesBalancer });
      // Instance 0 answers in 30 ms, the others in 2 ms.
      const call = () => {
        const c = registry.startCall('svc');
        c.end({ outcome: 'success', latencyMs: c.instance.id === url(0) ? 30 : 2 });
        return c.instance.id;
      };
      // Measure every instance (an unmeasured one wins against a measured one,
      // but two random picks out of three can leave one unmeasured for a while).
      const measured = new Set<string>();
      for (let i = 0; i < 100 && measured.size < 3; i++) measured.add(call());
      expect(measured.size).toBe(3);
      const perSecond: number[] = [];
      for (let second = 0; second < 40; second++) {
        clock.advance(500);
        let slow = 0;
        for (let i = 0; i < 20; i++) if (call() === url(0)) slow++;
        perSecond.push(slow);
        clock.advance(500);
        vi.advanceTimersByTime(1_000);
      }
      // At first the slow instance loses every comparison...
      expect(perSecond.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
      // ...but its estimate decays while it gets no calls, so it is tried again
      // (and each new slow answer pushes it back: probes, not a flood).
      const probes = perSecond.reduce((a, b) => a + b, 0);
      expect(probes).toBeGreaterThan(0);
      expect(probes).toBeLessThan(40);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('health checks', () => {
  function checkedFleet(
    clock: ReturnType<typeof manualClock>,
    failing: Set<string>,
    extra: ServiceRegistryOptions = {},
  ) {
    return fleet(4, {
      clock,
      healthCheck: {
        intervalMs: 3_600_000,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        check: async (instance) => !failing.has(instance.id),
      },
      ...extra,
    });
  }

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

  it('ramps a re-admitted instance up slowly', async () => {
    const clock = manualClock();
    const failing = new Set<string>([url(0)]);
    const registry = await checkedFleet(clock, failing, { slowStartMs: 10_000 });
    await registry.checkHealth();
    await registry.checkHealth();
    failing.clear();
    await registry.checkHealth();
    await registry.checkHealth();
    const status = (await registry.instances('svc')).find((i) => i.id === url(0))!;
    expect(status).toMatchObject({ healthy: true, warmingUp: true });
    const early = share(registry, 8000).get(url(0)) ?? 0;
    clock.advance(10_001);
    const late = share(registry, 8000).get(url(0)) ?? 0;
    // Fair share is 2000 of 8000; at the start of the ramp it gets far less.
    expect(early).toBeLessThan(1000);
    expect(late).toBeGreaterThan(1700);
  });

  it('routes across every instance when most look unhealthy (panic), and says so', async () => {
    const clock = manualClock();
    const failing = new Set<string>([url(0), url(1), url(2)]);
    const registry = await checkedFleet(clock, failing);
    const panics: ServiceRegistryEvents['panic'][] = [];
    registry.on('panic', (e) => panics.push(e));
    await registry.checkHealth();
    await registry.checkHealth();
    expect(new Set(share(registry, 200).keys()).size).toBe(4);
    expect(panics).toEqual([{ service: 'svc', active: true, routable: 1, total: 4 }]);
    failing.delete(url(0));
    failing.delete(url(1));
    await registry.checkHealth();
    await registry.checkHealth();
    expect(new Set(share(registry, 200).keys())).toEqual(new Set([url(0), url(1), url(3)]));
    expect(panics.at(-1)).toMatchObject({ active: false, routable: 3 });
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
