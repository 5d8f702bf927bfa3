import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { checkedFleet, make, manualClock, share, url } from './helpers.js';

describe('routing', () => {
  it('pick never waits: before the view is loaded it throws NoInstancesError and starts loading', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    await registry.register('svc', 'http://127.0.0.1:4001');
    const other = make({ adapter });
    expect(() => other.pick('svc')).toThrow(expect.objectContaining({ code: 'ERR_NO_INSTANCES' }));
    await other.watch('svc');
    expect(other.pick('svc').url).toBe('http://127.0.0.1:4001');
  });

  it('picks excluding instances already tried, and says so when all are', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.register('svc', 'http://127.0.0.1:4002');
    await registry.watch('svc');
    const first = registry.pick('svc');
    for (let i = 0; i < 20; i++) expect(registry.pick('svc', { exclude: [first.id] }).id).not.toBe(first.id);
    const all = new Set((await registry.instances('svc')).map((i) => i.id));
    expect(() => registry.startCall('svc', { exclude: all })).toThrow(
      expect.objectContaining({ code: 'ERR_NO_INSTANCES' }),
    );
    expect((await registry.instances('svc')).every((i) => i.outstanding === 0)).toBe(true);
  });
});

describe('routing: slow start and panic', () => {
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
