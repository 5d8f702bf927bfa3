import { describe, expect, it } from 'vitest';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { open, refusal, rejection } from './helpers.js';

describe('every options object of the registry refuses unknown keys, non-plain objects and bare numbers', () => {
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
