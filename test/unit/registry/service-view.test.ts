import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { flaky, make, until } from './helpers.js';

describe('a service view', () => {
  it('drops a crashed instance once its lease expires, without anyone deregistering it', async () => {
    const adapter = memoryRegistryAdapter();
    const crashing = make({ adapter, deregisterOnClose: false });
    await crashing.register('svc', 'http://127.0.0.1:4001', { ttlMs: 600 });
    const watcher = make({ adapter });
    await watcher.watch('svc');
    const downs: ServiceRegistryEvents['change'][] = [];
    watcher.on('change', (c) => c.type === 'down' && downs.push(c));
    await new Promise((r) => setTimeout(r, 900));
    expect(watcher.pick('svc').url).toBe('http://127.0.0.1:4001'); // heartbeats keep it
    await crashing.close(); // stops heartbeating, does not deregister: a crash
    await until('the instance to go down', () => downs.length === 1, 4000);
    expect(downs[0]).toMatchObject({ reason: 'expired' });
    expect(() => watcher.pick('svc')).toThrow(expect.objectContaining({ code: 'ERR_NO_INSTANCES' }));
  });

  it('names why an instance left even when its announcement is lost: a resync before its lease ran out means deregistered', async () => {
    // The watcher's adapter drops every 'down' announcement: only resyncs tell it.
    const adapter = memoryRegistryAdapter();
    const deaf: RegistryAdapter = {
      register: (...args) => adapter.register(...args),
      heartbeat: (...args) => adapter.heartbeat(...args),
      deregister: (...args) => adapter.deregister(...args),
      list: (...args) => adapter.list(...args),
      subscribe: (service, listener) =>
        adapter.subscribe(service, (change) => {
          if (change.type !== 'down') listener(change);
        }),
      close: async () => {},
    };
    const a = make({ adapter, deregisterOnClose: false });
    await a.register('svc', 'http://127.0.0.1:4001', { ttlMs: 60_000 });
    await a.register('svc', 'http://127.0.0.1:4002', { ttlMs: 600 });
    const watcher = make({ adapter: deaf, resyncIntervalMs: 100 });
    await watcher.watch('svc');
    const downs: ServiceRegistryEvents['change'][] = [];
    watcher.on('change', (c) => c.type === 'down' && downs.push(c));
    // Deregistered 59 s before its lease would end.
    await a.deregister('svc', 'http://127.0.0.1:4001');
    await until('the resync to drop it', () => downs.length === 1, 4000);
    expect(downs[0]).toMatchObject({ reason: 'deregistered', instance: { url: 'http://127.0.0.1:4001' } });
    // Left to run out: expired.
    await a.close();
    await until('the lease to run out', () => downs.length === 2, 4000);
    expect(downs[1]).toMatchObject({ reason: 'expired', instance: { url: 'http://127.0.0.1:4002' } });
  });

  it('keeps serving its last view while the store is unreachable, and drops nobody', async () => {
    const inner = memoryRegistryAdapter();
    const owner = make({ adapter: inner, deregisterOnClose: false });
    await owner.register('svc', 'http://127.0.0.1:4001', { ttlMs: 200 });
    await owner.register('svc', 'http://127.0.0.1:4002', { ttlMs: 200 });
    const adapter = flaky(inner);
    const viewer = make({ adapter, operationTimeoutMs: 100 });
    await viewer.watch('svc');
    const errors: ServiceRegistryEvents['error'][] = [];
    viewer.on('error', (e) => errors.push(e));
    adapter.down = true;
    await owner.close(); // a crash: the leases run out meanwhile
    await new Promise((r) => setTimeout(r, 600));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.operation).toBe('list');
    const urls = new Set(Array.from({ length: 20 }, () => viewer.pick('svc').url));
    expect(urls.size).toBe(2);
    adapter.down = false;
    await until('the view to report no instances', () => {
      try {
        viewer.pick('svc');
        return false;
      } catch (err) {
        return isScaleoutError(err, 'ERR_NO_INSTANCES');
      }
    });
  });

  it('unwatch drops a view and its subscription; the next use loads it again', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    await registry.register('svc', 'http://127.0.0.1:4001');
    await expect(registry.getServiceInstance('ghost')).rejects.toMatchObject({ code: 'ERR_NO_INSTANCES' });
    await registry.unwatch('ghost');
    await registry.unwatch('never-watched');
    const changes: ServiceRegistryEvents['change'][] = [];
    registry.on('change', (c) => changes.push(c));
    const other = make({ adapter });
    await other.register('ghost', 'http://127.0.0.1:4002');
    await new Promise((r) => setTimeout(r, 20));
    expect(changes).toEqual([]); // no longer watched: no events
    expect(() => registry.pick('ghost')).toThrow(expect.objectContaining({ code: 'ERR_NO_INSTANCES' }));
    expect((await registry.getServiceInstance('ghost')).url).toBe('http://127.0.0.1:4002');
  });

  it('refuses, loudly, an adapter whose subscribe resolves to a function (the earlier contract), ending it, and keeps working by re-reads', async () => {
    const inner = memoryRegistryAdapter();
    let ended = 0;
    const legacy: RegistryAdapter = {
      register: (...a) => inner.register(...a),
      heartbeat: (...a) => inner.heartbeat(...a),
      deregister: (...a) => inner.deregister(...a),
      list: (...a) => inner.list(...a),
      subscribe: async (service, listener) => {
        const subscription = await inner.subscribe(service, listener);
        return (async () => {
          ended++;
          await subscription.unsubscribe();
        }) as never;
      },
      close: () => inner.close(),
    };
    const registry = make({ adapter: legacy });
    const errors: ServiceRegistryEvents['error'][] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.register('svc', 'http://127.0.0.1:4001');
    expect((await registry.getServiceInstance('svc')).url).toBe('http://127.0.0.1:4001');
    await until('an error event', () => errors.length > 0);
    expect(errors[0]).toMatchObject({ operation: 'subscribe', service: 'svc' });
    expect(isScaleoutError(errors[0]!.error, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect((errors[0]!.error as Error).message).toContain('{ unsubscribe');
    // Each refused subscription is ended, not leaked.
    await until('each refused subscription ended', () => ended === errors.length);
    expect(errors.every((e) => e.operation === 'subscribe')).toBe(true);
  });
});
