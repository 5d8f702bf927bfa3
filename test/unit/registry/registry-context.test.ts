import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import { ServiceRegistry, type ServiceRegistryOptions } from '../../../src/registry/service-registry.js';
import { collected, weaklyHeld } from '../../helpers/gc.js';
import { until } from '../../helpers/wait.js';

const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

/** An adapter that notes the async context of each list and heartbeat call. */
function observed(als: AsyncLocalStorage<unknown>, inner: RegistryAdapter = memoryRegistryAdapter()) {
  const calls = { list: [] as unknown[], heartbeat: [] as unknown[] };
  const adapter: RegistryAdapter = {
    register: (...a) => inner.register(...a),
    heartbeat: (...a) => {
      calls.heartbeat.push(als.getStore());
      return inner.heartbeat(...a);
    },
    deregister: (...a) => inner.deregister(...a),
    list: (...a) => {
      calls.list.push(als.getStore());
      return inner.list(...a);
    },
    subscribe: (...a) => inner.subscribe(...a),
    close: () => inner.close(),
  };
  return { adapter, calls };
}

function make(als: AsyncLocalStorage<string>, options: ServiceRegistryOptions): ServiceRegistry {
  // Built at startup, in the application's context.
  const registry = als.run('app', () => new ServiceRegistry(options));
  open.push(registry);
  return registry;
}

describe('ServiceRegistry: async context of background work', () => {
  it("re-reads a watched service in the registry's context, not in that of the first watch() caller", async () => {
    const als = new AsyncLocalStorage<string>();
    const { adapter, calls } = observed(als);
    const registry = make(als, { adapter, resyncIntervalMs: 20 });
    await als.run('request A', () => registry.watch('svc'));
    await als.run('request B', () => registry.watch('svc'));
    await until('four lists', () => calls.list.length >= 4);
    expect(new Set(calls.list)).toEqual(new Set(['app']));
  });

  it("tells `change` listeners of another process's registration in the registry's context, not the registrar's", async () => {
    const als = new AsyncLocalStorage<string>();
    const shared = memoryRegistryAdapter();
    const registry = make(als, { adapter: shared, resyncIntervalMs: 60_000 });
    const seen: Array<string | undefined> = [];
    registry.on('change', () => void seen.push(als.getStore()));
    await als.run('request A', () => registry.watch('svc'));
    const other = new ServiceRegistry({ adapter: shared });
    open.push(other);
    await als.run('registrar', () => other.register('svc', 'http://127.0.0.1:4001'));
    await until('a change', () => seen.length > 0);
    expect(seen).toEqual(['app']);
  });

  it("heartbeats a registration in the registry's context, not in that of the register() call", async () => {
    const als = new AsyncLocalStorage<string>();
    const { adapter, calls } = observed(als);
    const registry = make(als, { adapter, heartbeatIntervalMs: 20 });
    await als.run('request A', () => registry.register('svc', 'http://127.0.0.1:4001'));
    await until('two heartbeats', () => calls.heartbeat.length >= 2);
    expect(new Set(calls.heartbeat)).toEqual(new Set(['app']));
  });

  it('does not keep the context of the request that first watched a service alive', async () => {
    const als = new AsyncLocalStorage<object>();
    const { adapter, calls } = observed(als);
    const registry = new ServiceRegistry({ adapter, resyncIntervalMs: 20 });
    open.push(registry);
    const ref = await weaklyHeld((request) => als.run(request, () => registry.watch('svc')));
    const before = calls.list.length;
    await until('two more lists', () => calls.list.length >= before + 2);
    expect(await collected(ref)).toBe(true);
  });
});
