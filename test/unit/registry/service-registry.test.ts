import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRegistryAdapter, memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import {
  ServiceRegistry,
  type ServiceRegistryEvents,
  type ServiceRegistryOptions,
} from '../../../src/registry/service-registry.js';
import { until as waitUntil } from '../../helpers/wait.js';

const open: ServiceRegistry[] = [];
function make(options: ServiceRegistryOptions = {}): ServiceRegistry {
  const r = new ServiceRegistry(options);
  open.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return err;
  }
  throw new Error(`expected ${code}`);
}

/** An adapter whose calls can be made to fail, like a store that went away. */
function flaky(inner: RegistryAdapter): RegistryAdapter & { down: boolean } {
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
const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000) =>
  waitUntil(what, check, timeoutMs, 10);

describe('ServiceRegistry', () => {
  it('registers and hands out the instance, with a normalised URL as id', async () => {
    const registry = make();
    const reg = await registry.register('inventory', 'http://127.0.0.1:4001', {
      weight: 2,
      metadata: { zone: 'a' },
    });
    expect(reg.instance.url).toBe('http://127.0.0.1:4001');
    expect(reg.instance.id).toBe('http://127.0.0.1:4001/');
    const instance = await registry.getServiceInstance('inventory');
    expect(instance).toMatchObject({ service: 'inventory', url: 'http://127.0.0.1:4001', weight: 2 });
    expect(instance.metadata).toEqual({ zone: 'a' });
    const statuses = await registry.instances('inventory');
    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toMatchObject({
      healthy: true,
      ejected: false,
      outstanding: 0,
      latencyMs: undefined,
    });
    await registry.register('api', 'https://api.internal:8443/v1');
    expect((await registry.getServiceInstance('api')).url).toBe('https://api.internal:8443/v1');
  });

  it('refuses bad input with typed errors and leaves its state unharmed', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    await registry.register('svc', 'http://127.0.0.1:4001');
    const bad: Array<[string, Promise<unknown>, string]> = [
      ['not a URL', registry.register('svc', 'not a url'), 'ERR_INVALID_ARGUMENT'],
      ['relative', registry.register('svc', '/health'), 'ERR_INVALID_ARGUMENT'],
      ['ftp', registry.register('svc', 'ftp://127.0.0.1/'), 'ERR_INVALID_ARGUMENT'],
      ['credentials', registry.register('svc', 'http://user:s3cret@127.0.0.1:1/'), 'ERR_INVALID_ARGUMENT'],
      ['query', registry.register('svc', 'http://127.0.0.1:1/?a=1'), 'ERR_INVALID_ARGUMENT'],
      ['non-string url', registry.register('svc', 42 as never), 'ERR_INVALID_ARGUMENT'],
      ['empty service', registry.register('', 'http://127.0.0.1:1'), 'ERR_INVALID_ARGUMENT'],
      ['control chars', registry.register('a\nb', 'http://127.0.0.1:1'), 'ERR_INVALID_ARGUMENT'],
      ['ttl 0', registry.register('svc', 'http://127.0.0.1:2', { ttlMs: 0 }), 'ERR_INVALID_ARGUMENT'],
      ['ttl 5 ms', registry.register('svc', 'http://127.0.0.1:2', { ttlMs: 5 }), 'ERR_INVALID_ARGUMENT'],
      [
        'ttl 10 years',
        registry.register('svc', 'http://127.0.0.1:2', { ttlMs: 3e11 }),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'ttl fraction',
        registry.register('svc', 'http://127.0.0.1:2', { ttlMs: 1000.5 }),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'ttl NaN',
        registry.register('svc', 'http://127.0.0.1:2', { ttlMs: Number.NaN }),
        'ERR_INVALID_ARGUMENT',
      ],
      ['weight 0', registry.register('svc', 'http://127.0.0.1:2', { weight: 0 }), 'ERR_INVALID_ARGUMENT'],
      ['weight -1', registry.register('svc', 'http://127.0.0.1:2', { weight: -1 }), 'ERR_INVALID_ARGUMENT'],
      [
        'weight Infinity',
        registry.register('svc', 'http://127.0.0.1:2', { weight: Number.POSITIVE_INFINITY }),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'metadata number',
        registry.register('svc', 'http://127.0.0.1:2', { metadata: { a: 1 as never } }),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'metadata pollution',
        registry.register('svc', 'http://127.0.0.1:2', {
          metadata: JSON.parse('{"__proto__":{"isAdmin":"yes"}}'),
        }),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'registered again with another weight',
        registry.register('svc', 'http://127.0.0.1:4001/', { weight: 2 }),
        'ERR_DUPLICATE_REGISTRATION',
      ],
      ['unknown service pick', registry.getServiceInstance('nope'), 'ERR_NO_INSTANCES'],
    ];
    for (const [label, promise, code] of bad) {
      const err = await rejectsWith(promise, code).catch((e: Error) => {
        throw new Error(`${label}: ${e.message}`);
      });
      expect(String((err as Error).message)).not.toContain('s3cret');
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const { instances } = await adapter.list('svc');
    expect(instances.map((i) => i.record.url)).toEqual(['http://127.0.0.1:4001/']);
    expect((await registry.instances('svc')).map((i) => i.url)).toEqual(['http://127.0.0.1:4001']);
    // Registering it again the same way, or deregistering what is not registered, changes nothing (idempotent, as in the design).
    expect((await registry.register('svc', 'http://127.0.0.1:4001/')).instance.id).toBe(
      'http://127.0.0.1:4001/',
    );
    expect(await registry.deregister('svc', 'http://127.0.0.1:9')).toBe(false);
    expect(await registry.deregister('nope', 'http://127.0.0.1:4001')).toBe(false);
    expect((await adapter.list('svc')).instances).toHaveLength(1);
    // The original registration still works: deregistering it succeeds once.
    expect(await registry.deregister('svc', 'http://127.0.0.1:4001')).toBe(true);
    expect((await adapter.list('svc')).instances).toEqual([]);
    await rejectsWith(registry.getServiceInstance('svc'), 'ERR_NO_INSTANCES');
  });

  it('refuses absurd options at construction', () => {
    const cases: ServiceRegistryOptions[] = [
      { ttlMs: 1 },
      { ttlMs: 1e12 },
      { ttlMs: 1000, heartbeatIntervalMs: 1000 },
      { panicThresholdPercent: 150 },
      { operationTimeoutMs: 0 },
      { outlierDetection: { consecutiveFailures: 0 } },
      { outlierDetection: { baseEjectionMs: 1000, maxEjectionMs: 10 } },
      { healthCheck: { concurrency: 0 } },
      { healthCheck: { path: 'health' } },
      { balancer: 'p2c' as never },
    ];
    for (const options of cases) {
      let caught: unknown;
      try {
        new ServiceRegistry(options);
      } catch (err) {
        caught = err;
      }
      expect(isScaleoutError(caught, 'ERR_INVALID_OPTIONS'), JSON.stringify(options)).toBe(true);
    }
  });

  it('pick never waits: before the view is loaded it throws NoInstancesError and starts loading', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = make({ adapter });
    await registry.register('svc', 'http://127.0.0.1:4001');
    const other = make({ adapter });
    expect(() => other.pick('svc')).toThrow(expect.objectContaining({ code: 'ERR_NO_INSTANCES' }));
    await other.watch('svc');
    expect(other.pick('svc').url).toBe('http://127.0.0.1:4001');
  });

  it('shares registrations between registries on one adapter, with change events', async () => {
    const adapter = memoryRegistryAdapter();
    const a = make({ adapter });
    const b = make({ adapter, balancer: roundRobinBalancer });
    await b.watch('svc');
    const changes: ServiceRegistryEvents['change'][] = [];
    b.on('change', (c) => changes.push(c));
    await a.register('svc', 'http://127.0.0.1:4001');
    await a.register('svc', 'http://127.0.0.1:4002');
    await until('two changes', () => changes.length === 2);
    expect(changes.map((c) => [c.type, c.instance.url, c.reason])).toEqual([
      ['up', 'http://127.0.0.1:4001', 'registered'],
      ['up', 'http://127.0.0.1:4002', 'registered'],
    ]);
    const seen = new Set([b.pick('svc').url, b.pick('svc').url]);
    expect(seen.size).toBe(2);
    await a.deregister('svc', 'http://127.0.0.1:4001');
    await until('three changes', () => changes.length === 3);
    expect(changes[2]).toMatchObject({ type: 'down', reason: 'deregistered' });
    for (let i = 0; i < 10; i++) expect(b.pick('svc').url).toBe('http://127.0.0.1:4002');
  });

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

  it('deregisters its instances on close, at once', async () => {
    const adapter = memoryRegistryAdapter();
    const a = make({ adapter });
    await a.register('svc', 'http://127.0.0.1:4001', { ttlMs: 60_000 });
    await a.close();
    expect((await adapter.list('svc')).instances).toEqual([]);
    await rejectsWith(a.register('svc', 'http://127.0.0.1:4002'), 'ERR_CLOSED');
    expect(() => a.pick('svc')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });

  it('re-registers a lease the store lost, and gives up one another process took', async () => {
    const adapter = new MemoryRegistryAdapter();
    const a = make({ adapter, heartbeatIntervalMs: 50 });
    const leases: ServiceRegistryEvents['lease'][] = [];
    a.on('lease', (e) => leases.push(e));
    await a.register('svc', 'http://127.0.0.1:4001', { ttlMs: 1000 });
    const { instances } = await adapter.list('svc');
    await adapter.deregister('svc', instances[0]!.record.id, instances[0]!.record.owner); // store forgets it
    await until('the first lease event', () => leases.length === 1);
    expect(leases[0]!.status).toBe('renewed');
    expect((await adapter.list('svc')).instances).toHaveLength(1);
    const b = make({ adapter });
    await b.register('svc', 'http://127.0.0.1:4001', { ttlMs: 1000 }); // the instance restarted elsewhere
    await until('the second lease event', () => leases.length === 2);
    expect(leases[1]!.status).toBe('taken');
    // a no longer owns it: deregistering through a does nothing (false), b's record is intact.
    expect(await a.deregister('svc', 'http://127.0.0.1:4001')).toBe(false);
    expect((await adapter.list('svc')).instances[0]!.record.owner).not.toBe(instances[0]!.record.owner);
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

  it('counts outstanding calls until they end, once', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.watch('svc');
    const c1 = registry.startCall('svc');
    const c2 = registry.startCall('svc');
    expect((await registry.instances('svc'))[0]!.outstanding).toBe(2);
    c1.end({ outcome: 'success', latencyMs: 10 });
    c1.end({ outcome: 'success', latencyMs: 10 });
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 1, latencyMs: 10 });
    c2.end({ outcome: 'cancelled' });
    expect((await registry.instances('svc'))[0]!.outstanding).toBe(0);
  });

  it('trackCall counts a call to a picked instance until it ends, and nothing for an instance that left', async () => {
    const registry = make({ outlierDetection: { consecutiveFailures: 1 } });
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.register('svc', 'http://127.0.0.1:4002');
    await registry.watch('svc');
    const id = 'http://127.0.0.1:4001/';
    const a = registry.trackCall('svc', id)!;
    const b = registry.trackCall('svc', id)!;
    expect(a.instance.id).toBe(id);
    const outstanding = async () => (await registry.instances('svc')).find((i) => i.id === id)!.outstanding;
    expect(await outstanding()).toBe(2);
    // 429: neither a failure (no ejection with a threshold of 1) nor a latency sample.
    a.end({ outcome: 'overloaded', latencyMs: 1 });
    a.end({ outcome: 'server-error' });
    expect(await outstanding()).toBe(1);
    expect((await registry.instances('svc')).find((i) => i.id === id)).toMatchObject({
      ejected: false,
      latencyMs: undefined,
    });
    b.end({ outcome: 'success', latencyMs: 7 });
    expect((await registry.instances('svc')).find((i) => i.id === id)).toMatchObject({
      outstanding: 0,
      latencyMs: 7,
    });
    expect(registry.trackCall('svc', 'http://127.0.0.1:9999/')).toBeUndefined();
    expect(registry.trackCall('unwatched', id)).toBeUndefined();
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
