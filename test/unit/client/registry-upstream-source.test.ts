import { afterEach, describe, expect, it } from 'vitest';
import { RegistryUpstreamSource } from '../../../src/client/registry-upstream-source.js';
import type { CallOutcome } from '../../../src/contracts/upstream.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';

const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function registryWith(...ports: number[]): Promise<ServiceRegistry> {
  const registry = new ServiceRegistry({ slowStartMs: 0 });
  open.push(registry);
  for (const port of ports) await registry.register('svc', `http://127.0.0.1:${port}`);
  return registry;
}

describe('RegistryUpstreamSource', () => {
  it('reports every outcome as it is (one CallOutcome for client and registry)', () => {
    const all: CallOutcome[] = [
      'success',
      'client-error',
      'overloaded',
      'server-error',
      'timeout',
      'connect-error',
      'connection-reset',
      'cancelled',
    ];
    const ended: unknown[] = [];
    const fake = {
      pick: () => undefined,
      watch: async () => {},
      trackCall: () => ({ instance: undefined, end: (result: unknown) => ended.push(result) }),
    } as unknown as ServiceRegistry;
    const source = new RegistryUpstreamSource(fake);
    for (const outcome of all) {
      source.onAttemptEnd('svc', 'a', { outcome, latencyMs: 5 }, source.onAttemptStart('svc', 'a'));
    }
    expect(ended).toEqual(all.map((outcome) => ({ outcome, latencyMs: 5 })));
  });

  it('the registry holds a connection reset like a refused connection: a failure, no latency sample', async () => {
    const registry = new ServiceRegistry({ slowStartMs: 0, outlierDetection: { consecutiveFailures: 2 } });
    open.push(registry);
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.register('svc', 'http://127.0.0.1:4002');
    await registry.watch('svc');
    const source = new RegistryUpstreamSource(registry);
    const id = 'http://127.0.0.1:4001/';
    for (let i = 0; i < 2; i++) {
      source.onAttemptEnd(
        'svc',
        id,
        { outcome: 'connection-reset', latencyMs: 50 },
        source.onAttemptStart('svc', id),
      );
    }
    const status = (await registry.instances('svc')).find((s) => s.id === id)!;
    expect(status.latencyMs).toBeUndefined();
    expect(status.ejected).toBe(true);
  });

  it('loads the view on first pick, then picks synchronously; falls back to an excluded instance only when all are', async () => {
    const registry = await registryWith(4001, 4002);
    const source = new RegistryUpstreamSource(registry);
    const first = await source.pick('svc', { exclude: new Set() });
    expect(first?.id).toMatch(/^http:\/\/127\.0\.0\.1:400[12]\/$/);
    const second = source.pick('svc', { exclude: new Set([first!.id]) });
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as { id: string }).id).not.toBe(first!.id);
    const both = new Set(['http://127.0.0.1:4001/', 'http://127.0.0.1:4002/']);
    expect(both.has((source.pick('svc', { exclude: both }) as { id: string }).id)).toBe(true);
    await expect(source.pick('nothing-here', { exclude: new Set() })).resolves.toBeUndefined();
  });

  it('ties each end to its own start: overlapping attempts on one instance release exactly their slots', async () => {
    const registry = await registryWith(4001);
    await registry.watch('svc');
    const source = new RegistryUpstreamSource(registry);
    const id = 'http://127.0.0.1:4001/';
    const t1 = source.onAttemptStart('svc', id);
    const t2 = source.onAttemptStart('svc', id);
    expect((await registry.instances('svc'))[0]!.outstanding).toBe(2);
    source.onAttemptEnd('svc', id, { outcome: 'timeout', latencyMs: 50 }, t2);
    source.onAttemptEnd('svc', id, { outcome: 'timeout', latencyMs: 50 }, t2);
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 1, latencyMs: 50 });
    source.onAttemptEnd('svc', id, { outcome: 'cancelled', latencyMs: 1 }, t1);
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 0, latencyMs: 50 });
    // An instance that left the view between pick and start: nothing counted, nothing thrown.
    const gone = source.onAttemptStart('svc', 'http://127.0.0.1:9/');
    expect(gone).toBeUndefined();
    expect(() =>
      source.onAttemptEnd('svc', 'http://127.0.0.1:9/', { outcome: 'success', latencyMs: 1 }, gone),
    ).not.toThrow();
  });
});
