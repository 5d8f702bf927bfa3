import { afterEach, describe, expect, it } from 'vitest';
import { CALL_OUTCOME_OF, RegistryUpstreamSource } from '../../../src/client/registry-upstream-source.js';
import type { AttemptOutcome } from '../../../src/client/upstream-source.js';
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
  it('maps every attempt outcome to a registry call outcome', () => {
    const all: AttemptOutcome[] = [
      'success',
      'client_error',
      'overloaded',
      'server_error',
      'timeout',
      'connect_error',
      'connection_reset',
      'cancelled',
    ];
    expect(all.map((o) => CALL_OUTCOME_OF[o])).toEqual([
      'success',
      'client-error',
      'overloaded',
      'server-error',
      'timeout',
      'connect-error',
      'connect-error',
      'cancelled',
    ]);
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
