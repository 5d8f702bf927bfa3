import { describe, expect, it } from 'vitest';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { fleet, manualClock, share, url } from './helpers.js';

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
