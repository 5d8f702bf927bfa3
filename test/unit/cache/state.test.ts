import { describe, expect, it, vi } from 'vitest';
import { MemoryCacheAdapter, memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { ClosedError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { cacheFactory, eventually } from './helpers.js';

const make = cacheFactory();

describe('DistributedCache lifecycle: a cache closes only the adapter it created', () => {
  it('two caches sharing one adapter: closing either leaves the other (and the adapter) working', async () => {
    const adapter = memoryCacheAdapter();
    const close = vi.spyOn(adapter, 'close');
    const a = make({ adapter });
    const b = make({ adapter });
    const c = make({ adapter });
    await Promise.all([a.ready(), b.ready(), c.ready()]);
    await a.set('k', 'from-a');
    await a.close();
    expect(close).not.toHaveBeenCalled();
    // b still reads, writes, loads and counts through the shared adapter...
    expect(await b.get('k')).toBe('from-a');
    await b.set('k', 'from-b');
    expect(await b.getOrSet('loaded', () => 'L')).toBe('L');
    expect(await b.increment('n')).toBe(1);
    // ...and its invalidation bus still reaches the other caches.
    expect(await c.get('k')).toBe('from-b');
    await b.set('k', 'again');
    await eventually(async () => (await c.get('k')) === 'again');
    await b.close();
    expect(close).not.toHaveBeenCalled();
    expect(await adapter.get('v:loaded')).toMatch(/"L"$/);
    await expect(a.get('k')).rejects.toBeInstanceOf(ClosedError);
  });

  it('closes the memory adapter it created, once, with its clock', async () => {
    const close = vi.spyOn(MemoryCacheAdapter.prototype, 'close');
    const clock = fakeClock();
    const cache = new DistributedCache({ clock });
    await cache.set('k', 1, { ttlMs: 1_000 });
    clock.advance(1_000);
    // expired in the adapter too: it reads the cache's clock
    expect(await cache.adapter.get('v:k')).toBeUndefined();
    await Promise.all([cache.close(), cache.close(), cache.namespace('ns').close()]);
    expect(close).toHaveBeenCalledTimes(1);
    await expect(cache.adapter.get('v:k')).rejects.toBeInstanceOf(ClosedError);
  });

  it('close() is idempotent: every call, on any namespace view, gets the same promise', async () => {
    const cache = new DistributedCache();
    const users = cache.namespace('users');
    const first = cache.close();
    expect(users.close()).toBe(first);
    expect(cache[Symbol.asyncDispose]()).toBe(first);
    await first;
    await expect(users.get('1')).rejects.toThrow('DistributedCache is closed');
    await expect(users.clear()).rejects.toBeInstanceOf(ClosedError);
  });

  it('exposes the adapter it uses: the one given, or the one it created', async () => {
    const adapter = memoryCacheAdapter();
    expect(make({ adapter }).adapter).toBe(adapter);
    expect(make().adapter).toBeInstanceOf(MemoryCacheAdapter);
  });

  it('refuses use after close', async () => {
    const cache = new DistributedCache();
    await cache.close();
    await expect(cache.get('k')).rejects.toBeInstanceOf(ClosedError);
    await expect(cache.getOrSet('k', () => 1)).rejects.toBeInstanceOf(ClosedError);
  });
});
