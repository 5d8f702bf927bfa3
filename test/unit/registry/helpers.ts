/** What the registry's unit tests share: registries closed after each test, fleets, clocks, flaky adapters. */
import { afterEach, expect } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import type { ServiceRegistryOptions } from '../../../src/registry/registry-options.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { type FakeClock, fakeClock } from '../../helpers/clock.js';
import { until as waitUntil } from '../../helpers/wait.js';

/** Registries a test made; closed after each test. */
export const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

/** A registry closed after the test. */
export function make(options: ServiceRegistryOptions = {}): ServiceRegistry {
  const r = new ServiceRegistry(options);
  open.push(r);
  return r;
}

/** The shared fake clock, at a wall-clock-like start. */
export function manualClock(): FakeClock {
  return fakeClock(1_700_000_000_000);
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return err;
  }
  throw new Error(`expected ${code}`);
}

export function refusal(
  run: () => unknown,
): { code?: string; option?: string; suggestion?: string } | undefined {
  try {
    run();
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    return err as { code?: string; option?: string; suggestion?: string };
  }
  return undefined;
}

export async function rejection(
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

/** An adapter whose calls can be made to fail, like a store that went away. */
export function flaky(inner: RegistryAdapter): RegistryAdapter & { down: boolean } {
  const wrapper = {
    down: false,
    register: (...a: Parameters<RegistryAdapter['register']>) =>
      wrapper.down ? Promise.reject(new Error('store down')) : inner.register(...a),
    heartbeat: (...a: Parameters<RegistryAdapter['heartbeat']>) =>
      wrapper.down ? Promise.reject(new Error('store down')) : inner.heartbeat(...a),
    deregister: (...a: Parameters<RegistryAdapter['deregister']>) =>
      wrapper.down ? Promise.reject(new Error('store down')) : inner.deregister(...a),
    list: (...a: Parameters<RegistryAdapter['list']>) =>
      wrapper.down ? Promise.reject(new Error('store down')) : inner.list(...a),
    subscribe: (...a: Parameters<RegistryAdapter['subscribe']>) => inner.subscribe(...a),
    close: () => inner.close(),
  };
  return wrapper;
}

/** Polls every 10 ms, 3 s by default (unit tests: nothing here should take long). */
export const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000) =>
  waitUntil(what, check, timeoutMs, 10);

/** A registry (round-robin unless told) over a memory adapter with `n` instances of `svc`, watched. */
export async function fleet(n: number, options: ServiceRegistryOptions = {}): Promise<ServiceRegistry> {
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

/** How many of `picks` picks went to each instance id. */
export function share(registry: ServiceRegistry, picks: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const id = registry.pick('svc').id;
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

/** The id (normalised URL) of the i-th instance. */
export const url = (i: number) => `http://127.0.0.1:${4000 + i}/`;

/** A fleet of 4 with active health checks that fail for the ids in `failing`. */
export function checkedFleet(
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
