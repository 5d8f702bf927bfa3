/**
 * DistributedCache scenarios written once and run over every adapter (the
 * memory adapter and a real redis-server), then what only Redis can show.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import type { DistributedCacheOptions } from '../../../src/cache/options.js';
import type { CacheAdapter } from '../../../src/contracts/cache.js';
import { TimeoutError, UnsafePayloadError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

/** One store several caches share, and raw access to it (keys as the adapter sees them). */
interface Store {
  adapter(): CacheAdapter;
  rawGet(key: string): Promise<string | undefined>;
  rawSet(key: string, value: string): Promise<void>;
  /** The remaining TTL of a raw key, ms (stores that can tell). */
  ttlMs?(key: string): Promise<number>;
}

interface Target {
  name: string;
  /** A fresh store (a unique prefix on Redis). */
  store(): Store;
}

let server: RedisServer;
let admin: Redis;
const caches: DistributedCache[] = [];
const adapters: CacheAdapter[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = server.client();
});
afterEach(async () => {
  server.resume();
  await Promise.all(caches.splice(0).map((c) => c.close()));
  // The adapters are ours: a cache closes only an adapter it created.
  await Promise.all(adapters.splice(0).map((a) => a.close()));
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin, p);
});
afterAll(async () => {
  await server.stop();
});

const targets: Target[] = [
  {
    name: 'memory adapter',
    store: () => {
      const shared = memoryCacheAdapter();
      adapters.push(shared);
      return {
        adapter: () => shared,
        rawGet: (key) => shared.get(key),
        rawSet: (key, value) => shared.set(key, value),
      };
    },
  },
  {
    name: 'Redis adapter on a real redis-server',
    store: () => {
      const prefix = uniquePrefix('dcache');
      prefixes.push(prefix);
      return {
        adapter: () => {
          const adapter = redisCacheAdapter({ connection: server.client(), prefix });
          adapters.push(adapter);
          return adapter;
        },
        rawGet: async (key) => (await admin.get(prefix + key)) ?? undefined,
        rawSet: async (key, value) => {
          await admin.set(prefix + key, value);
        },
        ttlMs: (key) => admin.pttl(prefix + key),
      };
    },
  },
];

function make(store: Store, options: DistributedCacheOptions = {}): DistributedCache {
  const cache = new DistributedCache({ adapter: store.adapter(), ...options });
  caches.push(cache);
  return cache;
}

describe.each(targets)('DistributedCache on the $name', ({ store: newStore }) => {
  it('stores values with their TTL and shares them between instances', async () => {
    const store = newStore();
    const a = make(store);
    const b = make(store);
    await a.set('user:1', { name: 'Ada' }, { ttlMs: 60_000, graceMs: 30_000 });
    if (store.ttlMs !== undefined) {
      const ttl = await store.ttlMs('v:user:1');
      expect(ttl).toBeGreaterThan(80_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
    }
    expect(await b.get('user:1')).toEqual({ name: 'Ada' });
    expect(await b.increment('n', 2)).toBe(2);
    expect(await a.increment('n', 3)).toBe(5);
    expect(await a.setNX('once', 1, { ttlMs: 10_000 })).toBe(true);
    expect(await b.setNX('once', 2, { ttlMs: 10_000 })).toBe(false);
    await a.setMany([
      { key: 'm1', value: 1 },
      { key: 'm2', value: 2 },
    ]);
    expect(await b.getMany(['m1', 'm2', 'm3'])).toEqual([1, 2, undefined]);
    expect(await b.deleteMany(['m1', 'm2'])).toBe(2);
  });

  it('namespace clear removes only that namespace from the store', async () => {
    const store = newStore();
    const cache = make(store);
    await cache.namespace('users').set('1', 'a');
    await cache.namespace('users').set('2', 'b');
    await cache.namespace('orders').set('1', 'c');
    await cache.namespace('users').clear();
    expect(await store.rawGet('v:users:1')).toBeUndefined();
    expect(await store.rawGet('v:users:2')).toBeUndefined();
    expect(await store.rawGet('v:orders:1')).toContain('"c"');
  });

  it('refuses to store a pollution payload and reads one planted in the store as a miss', async () => {
    const store = newStore();
    const cache = make(store);
    await expect(cache.set('k', JSON.parse('{"__proto__":{"admin":true}}'))).rejects.toBeInstanceOf(
      UnsafePayloadError,
    );
    expect(await store.rawGet('v:k')).toBeUndefined();
    await store.rawSet('v:planted', '{"constructor":{"prototype":{"admin":true}}}');
    expect(await cache.get('planted')).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('a write, delete or clear on one instance evicts the key from the other L1s', async () => {
    const store = newStore();
    const a = make(store);
    const b = make(store);
    await Promise.all([a.ready(), b.ready()]);
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1'); // now in b's L1
    await a.set('k', 'v2');
    await until('set evicts', async () => (await b.get('k')) === 'v2', 5_000);
    await a.delete('k');
    await until('delete evicts', async () => (await b.get('k')) === undefined, 5_000);
    await b.namespace('ns').set('x', 1);
    expect(await a.namespace('ns').get('x')).toBe(1);
    await b.namespace('ns').clear();
    await until('clear evicts', async () => (await a.namespace('ns').get('x')) === undefined, 5_000);
  });

  it('a cold key read by 4 instances x 25 callers runs the loader once', async () => {
    const store = newStore();
    const instances = Array.from({ length: 4 }, () => make(store));
    await Promise.all(instances.map((c) => c.ready()));
    let calls = 0;
    const loader = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return 'value';
    };
    const results = await Promise.all(
      instances.flatMap((c) => Array.from({ length: 25 }, () => c.getOrSet('hot', loader))),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['value']));
  });

  it('two caches sharing one adapter: closing either leaves the other working', async () => {
    const store = newStore();
    const adapter = store.adapter();
    const first = new DistributedCache({ adapter });
    const second = new DistributedCache({ adapter });
    const third = new DistributedCache({ adapter });
    caches.push(second, third);
    await Promise.all([first.ready(), second.ready(), third.ready()]);
    await first.set('k', 'v1');
    await first.close();
    expect(await second.get('k')).toBe('v1');
    await second.set('k', 'v2');
    expect(await store.rawGet('v:k')).toMatch(/"v2"$/);
    expect(await second.getOrSet('loaded', () => 'L')).toBe('L');
    // The bus of the shared adapter still carries the survivors' invalidations.
    expect(await third.get('k')).toBe('v2');
    await second.set('k', 'v3');
    await until('invalidated', async () => (await third.get('k')) === 'v3', 5_000);
    await second.close();
    expect(await third.get('loaded')).toBe('L');
    expect(await adapter.get('v:k')).toMatch(/"v3"$/);
  });

  it('setNX takes a key once its ttlMs passed, even while the value is kept for graceMs', async () => {
    const store = newStore();
    // Both caches read one hand-moved clock; the store keeps the value for ttlMs + graceMs.
    const clock = fakeClock(Date.now());
    const a = make(store, { graceMs: 10_000, clock });
    const b = make(store, { graceMs: 10_000, clock });
    expect(await a.setNX('mail-sent:42', 'a', { ttlMs: 100 })).toBe(true);
    expect(await b.setNX('mail-sent:42', 'b', { ttlMs: 100 })).toBe(false);
    clock.advance(250);
    expect(await b.get('mail-sent:42')).toBeUndefined();
    expect(await b.setNX('mail-sent:42', 'b', { ttlMs: 100 })).toBe(true);
    expect(await a.setNX('mail-sent:42', 'a', { ttlMs: 100 })).toBe(false);
    expect(await a.get('mail-sent:42')).toBe('b');

    // A stale value written by set() does not hold the key either.
    await a.set('config', 1, { ttlMs: 100 });
    clock.advance(250);
    expect(await b.setNX('config', 2, { ttlMs: 60_000 })).toBe(true);
    expect(await a.get('config')).toBe(2);

    // Callers racing for one stale key: exactly one takes it.
    expect(await a.setNX('race', -1, { ttlMs: 100 })).toBe(true);
    clock.advance(250);
    const wins = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).setNX('race', i, { ttlMs: 60_000 })),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await a.get('race')).toBe(wins.indexOf(true));
  });
});

describe('DistributedCache on a real redis-server: what only Redis shows', () => {
  it('a frozen Redis (SIGSTOP): fail-open answers within the operation timeout; failOpen: false gets TimeoutError', async () => {
    const prefix = uniquePrefix('dcache');
    prefixes.push(prefix);
    const store: Store = {
      adapter: () => {
        const adapter = redisCacheAdapter({ connection: server.client(), prefix });
        adapters.push(adapter);
        return adapter;
      },
      rawGet: async () => undefined,
      rawSet: async () => {},
    };
    const open = make(store, { operationTimeoutMs: 150 });
    const strict = make(store, { operationTimeoutMs: 150, failOpen: false });
    await Promise.all([open.ready(), strict.ready()]);
    server.pause();
    const started = Date.now();
    expect(await open.getOrSet('k', () => 'from-loader')).toBe('from-loader');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(open.set('k2', 1)).resolves.toBeUndefined();
    await expect(strict.get('k')).rejects.toBeInstanceOf(TimeoutError);
    server.resume();
  });
});
