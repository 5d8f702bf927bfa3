import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { make, rejectsWith, until } from './helpers.js';

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

  it('deregisters its instances on close, at once', async () => {
    const adapter = memoryRegistryAdapter();
    const a = make({ adapter });
    await a.register('svc', 'http://127.0.0.1:4001', { ttlMs: 60_000 });
    await a.close();
    expect((await adapter.list('svc')).instances).toEqual([]);
    await rejectsWith(a.register('svc', 'http://127.0.0.1:4002'), 'ERR_CLOSED');
    expect(() => a.pick('svc')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });

  it('close is idempotent: every call gets the same promise', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    const first = registry.close();
    expect(registry.close()).toBe(first);
    await first;
    expect(registry.close()).toBe(first);
    await expect(registry.watch('svc')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
