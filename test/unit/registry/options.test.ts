import { afterEach, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { roundRobinBalancer, weightedBalancer } from '../../../src/registry/balancers/index.js';
import { HealthChecker } from '../../../src/registry/health-checker.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';

const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

function refusal(run: () => unknown): { code?: string; option?: string; suggestion?: string } | undefined {
  try {
    run();
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    return err as { code?: string; option?: string; suggestion?: string };
  }
  return undefined;
}

async function rejection(
  run: () => Promise<unknown>,
): Promise<{ code?: string; option?: string; suggestion?: string } | undefined> {
  try {
    await run();
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    return err as { code?: string; option?: string; suggestion?: string };
  }
  return undefined;
}

describe('every options object of the registry refuses unknown keys, non-plain objects and bare numbers', () => {
  it('the constructor, its nested healthCheck and outlierDetection, and HealthChecker', () => {
    const cases: Array<[unknown, string]> = [
      [{ ttl: 5000 }, 'ttl'],
      [{ ttlMS: 5000 }, 'ttlMS'],
      [{ healthCheck: { interval: 1000 } }, 'interval'],
      [{ healthCheck: { path: '/health', timeout: 5 } }, 'timeout'],
      [{ outlierDetection: { failures: 3 } }, 'failures'],
      [{ adapter: memoryRegistryAdapter(), cache: {} }, 'cache'],
    ];
    for (const [options, key] of cases) {
      const err = refusal(() => new ServiceRegistry(options as never));
      expect(err?.code, JSON.stringify(options)).toBe('ERR_INVALID_OPTIONS');
      expect(err?.option).toBe(key);
    }
    expect(refusal(() => new ServiceRegistry({ ttl: 1 } as never))?.suggestion).toBe('ttlMs');
    expect(refusal(() => new ServiceRegistry(30_000 as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttlMs',
    });
    expect(refusal(() => new ServiceRegistry(new Map() as never))?.code).toBe('ERR_INVALID_OPTIONS');
    expect(refusal(() => new ServiceRegistry({ healthCheck: 30_000 } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'intervalMs',
    });
    expect(refusal(() => new ServiceRegistry({ outlierDetection: true } as never))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => new HealthChecker({ pathname: '/h' } as never))?.option).toBe('pathname');
    // Balancer factories take no options: one passed is refused, never ignored.
    expect(refusal(() => (roundRobinBalancer as (...a: unknown[]) => unknown)({ seed: 1 }))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => (weightedBalancer as (...a: unknown[]) => unknown)(3))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => new ServiceRegistry({ balancer: roundRobinBalancer() as never }))?.option).toBe(
      'balancer',
    );
  });

  it('the adapter factories', () => {
    expect(refusal(() => memoryRegistryAdapter({ clok: Date } as never))?.option).toBe('clok');
    expect(refusal(() => memoryRegistryAdapter(5 as never))?.code).toBe('ERR_INVALID_OPTIONS');
    expect(
      refusal(() => redisRegistryAdapter({ connection: 'redis://127.0.0.1:1', keyPrefix: 'x:' } as never)),
    ).toMatchObject({
      option: 'keyPrefix',
      suggestion: 'prefix',
    });
    expect(refusal(() => redisRegistryAdapter('redis://127.0.0.1:1' as never))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
  });

  it('register, getServiceInstance, pick and startCall options; extra arguments of deregister, watch, instances, unwatch, runHealthChecks', async () => {
    const registry = new ServiceRegistry();
    open.push(registry);
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.watch('svc');
    expect(
      await rejection(() => registry.register('svc', 'http://127.0.0.1:4002', { wieght: 2 } as never)),
    ).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'wieght',
      suggestion: 'weight',
    });
    expect(
      await rejection(() => registry.register('svc', 'http://127.0.0.1:4002', 30 as never)),
    ).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttlMs',
    });
    expect(
      (await rejection(() => registry.getServiceInstance('svc', { excluded: [] } as never)))?.option,
    ).toBe('excluded');
    expect(refusal(() => registry.pick('svc', { retries: 3 } as never))?.option).toBe('retries');
    expect(refusal(() => registry.pick('svc', { exclude: 'http://127.0.0.1:4001/' } as never))?.option).toBe(
      'exclude',
    );
    expect(refusal(() => registry.pick('svc', { exclude: 5 } as never))?.option).toBe('exclude');
    expect(refusal(() => registry.startCall('svc', 5 as never))?.code).toBe('ERR_INVALID_OPTIONS');
    const extra: Array<() => Promise<unknown>> = [
      () =>
        (registry.deregister as (...a: unknown[]) => Promise<unknown>)('svc', 'http://127.0.0.1:4001', {
          force: true,
        }),
      () => (registry.watch as (...a: unknown[]) => Promise<unknown>)('svc', { timeoutMs: 5 }),
      () => (registry.instances as (...a: unknown[]) => Promise<unknown>)('svc', {}),
      () => (registry.unwatch as (...a: unknown[]) => Promise<unknown>)('svc', 1),
      () => (registry.runHealthChecks as (...a: unknown[]) => Promise<unknown>)({ timeoutMs: 5000 }),
    ];
    for (const run of extra) expect((await rejection(run))?.code).toBe('ERR_INVALID_OPTIONS');
    // An event name with a typo would never fire; a listener that is not a function would fail at every emit.
    expect(refusal(() => registry.on('chnage' as never, () => {}))?.code).toBe('ERR_INVALID_ARGUMENT');
    expect(refusal(() => registry.on('change', 5 as never))?.code).toBe('ERR_INVALID_ARGUMENT');
    // Nothing changed: the registration is still there.
    expect((await registry.instances('svc')).map((i) => i.url)).toEqual(['http://127.0.0.1:4001']);
  });
});
