import { afterEach, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import type { ServiceInstance } from '../../../src/registry/service-instance.js';
import { ServiceRegistry, type ServiceRegistryOptions } from '../../../src/registry/service-registry.js';

const open: ServiceRegistry[] = [];
function make(options: ServiceRegistryOptions = {}): ServiceRegistry {
  const r = new ServiceRegistry(options);
  open.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

describe("the design's names keep their meaning", () => {
  it('getServiceInstance resolves to an instance whose string form is its URL, joining with a path without //', async () => {
    const registry = make();
    await registry.register('with-slash', 'http://127.0.0.1:4001/');
    await registry.register('without', 'http://127.0.0.1:4002');
    await registry.register('with-path', 'http://127.0.0.1:4003/api/');
    const a = await registry.getServiceInstance('with-slash');
    const b = await registry.getServiceInstance('without');
    const c = await registry.getServiceInstance('with-path');
    expect(`${a}/check`).toBe('http://127.0.0.1:4001/check');
    // biome-ignore lint/style/useTemplate: the design's own string concatenation is the point
    expect(a.url + '/check').toBe('http://127.0.0.1:4001/check');
    expect(String(b)).toBe('http://127.0.0.1:4002');
    expect(`${b}/check`).toBe('http://127.0.0.1:4002/check');
    expect(`${c}/check`).toBe('http://127.0.0.1:4003/api/check');
    // biome-ignore lint/style/useTemplate: the design's own string concatenation is the point
    expect(c.url + '/check').toBe('http://127.0.0.1:4003/api/check');
    // A base URL with an empty path segment could not be joined without //: refused.
    const err = await registry.register('svc', 'http://127.0.0.1:4004/a//').catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    // The status objects read the same way; toString stays out of JSON and spreads.
    const [status] = await registry.instances('with-slash');
    expect(`${status}/health`).toBe('http://127.0.0.1:4001/health');
    expect(Object.keys(a)).not.toContain('toString');
    expect(JSON.parse(JSON.stringify(a)).url).toBe('http://127.0.0.1:4001');
  });

  it('using the promise of getServiceInstance as the design used its URL fails loudly, saying to await it', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    const pending = registry.getServiceInstance('svc');
    let caught: unknown;
    try {
      void `${pending}/check`;
    } catch (err) {
      caught = err;
    }
    expect(isScaleoutError(caught, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect((caught as Error).message).toMatch(/await/);
    // biome-ignore lint/style/useTemplate: the design's own string concatenation is the point
    expect(() => (pending as unknown as string) + '/check').toThrow(/await/);
    expect((await pending).url).toBe('http://127.0.0.1:4001');
    // Not awaited and rejecting: no unhandled rejection once it was misused.
    const missing = registry.getServiceInstance('missing');
    expect(() => `${missing}`).toThrow(/await/);
  });

  it('getServiceInstance rejects with a typed NoInstancesError when there is no instance, as the design throws', async () => {
    const registry = make();
    const err = await registry.getServiceInstance('nobody').catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_NO_INSTANCES')).toBe(true);
    expect((err as { service: string }).service).toBe('nobody');
  });

  it('round-robin over the registered instances, as the design hands them out', async () => {
    const registry = make({ balancer: roundRobinBalancer });
    for (const port of [4001, 4002, 4003]) await registry.register('svc', `http://127.0.0.1:${port}`);
    const picks: string[] = [];
    for (let i = 0; i < 9; i++) picks.push(String(await registry.getServiceInstance('svc')));
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
    expect(picks.slice(3, 6)).toEqual(picks.slice(0, 3));
  });

  it('register of an already-registered URL is idempotent; with other options it throws DuplicateRegistrationError', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    const first = await registry.register('svc', 'http://127.0.0.1:4001', { weight: 2 });
    const again = registry.register('svc', 'http://127.0.0.1:4001/', { weight: 2 });
    const concurrent = registry.register('svc', 'http://127.0.0.1:4001', { weight: 2 });
    expect((await again).instance).toBe(first.instance);
    expect((await concurrent).instance).toBe(first.instance);
    const owners = (await adapter.list('svc')).instances.map((l) => l.record.owner);
    expect(owners).toHaveLength(1);
    const err = await registry
      .register('svc', 'http://127.0.0.1:4001', { weight: 3 })
      .catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_DUPLICATE_REGISTRATION')).toBe(true);
    expect((await adapter.list('svc')).instances.map((l) => [l.record.owner, l.record.weight])).toEqual([
      [owners[0], 2],
    ]);
  });

  it('deregister of an unknown URL is idempotent: it resolves false and changes nothing', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    await registry.register('svc', 'http://127.0.0.1:4001');
    expect(await registry.deregister('svc', 'http://127.0.0.1:4999')).toBe(false);
    expect(await registry.deregister('unknown', 'http://127.0.0.1:4001')).toBe(false);
    expect((await adapter.list('svc')).instances).toHaveLength(1);
    expect(await registry.deregister('svc', 'http://127.0.0.1:4001/')).toBe(true);
    expect(await registry.deregister('svc', 'http://127.0.0.1:4001')).toBe(false);
    expect((await adapter.list('svc')).instances).toHaveLength(0);
  });

  it('runHealthChecks checks every instance now and takes failing ones out by the health rules', async () => {
    const down = new Set<string>();
    const checked: string[] = [];
    const registry = make({
      balancer: roundRobinBalancer,
      slowStartMs: 0,
      healthCheck: {
        intervalMs: 3_600_000,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
        check: async (instance: ServiceInstance) => {
          checked.push(instance.id);
          return !down.has(instance.url);
        },
      },
    });
    for (const port of [4001, 4002, 4003]) await registry.register('svc', `http://127.0.0.1:${port}`);
    // Registered but never picked: runHealthChecks still checks them all, as the design's does.
    await registry.runHealthChecks();
    expect(checked.sort()).toEqual([
      'http://127.0.0.1:4001/',
      'http://127.0.0.1:4002/',
      'http://127.0.0.1:4003/',
    ]);
    down.add('http://127.0.0.1:4002');
    await registry.runHealthChecks();
    for (let i = 0; i < 20; i++)
      expect((await registry.getServiceInstance('svc')).url).not.toBe('http://127.0.0.1:4002');
    down.clear();
    await registry.runHealthChecks();
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(String(await registry.getServiceInstance('svc')));
    expect(seen.has('http://127.0.0.1:4002')).toBe(true);
  });

  it('runHealthChecks without a healthCheck option uses the design check (GET /health) and typed errors when closed', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:1'); // nothing listens: the check fails, nothing throws
    await registry.runHealthChecks();
    await registry.close();
    const err = await registry.runHealthChecks().catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_CLOSED')).toBe(true);
  });
});
