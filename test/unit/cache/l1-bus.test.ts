import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { BUS_CHANNEL } from '../../../src/cache/l1-bus.js';
import { cacheFactory, eventually } from './helpers.js';

const make = cacheFactory();

describe('L1 invalidation across instances', () => {
  it('a set, delete or clear on one instance evicts the key from the other L1s', async () => {
    const adapter = memoryCacheAdapter();
    const a = make({ adapter });
    const b = make({ adapter });
    await Promise.all([a.ready(), b.ready()]);
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1'); // now in b's L1
    await a.set('k', 'v2');
    await eventually(async () => (await b.get('k')) === 'v2');
    await a.delete('k');
    await eventually(async () => (await b.get('k')) === undefined);
    await b.namespace('ns').set('x', 1);
    expect(await a.namespace('ns').get('x')).toBe(1);
    await b.namespace('ns').clear();
    await eventually(async () => (await a.namespace('ns').get('x')) === undefined);
  });

  it('flushes L1 when the bus reconnects', async () => {
    const adapter = memoryCacheAdapter();
    let reconnect: (() => void) | undefined;
    const subscribe = adapter.subscribe.bind(adapter);
    vi.spyOn(adapter, 'subscribe').mockImplementation((channel, options) => {
      reconnect = options.onReconnect;
      return subscribe(channel, options);
    });
    const cache = make({ adapter });
    await cache.ready();
    const flushes: string[] = [];
    cache.on('flush', (e) => flushes.push(e.reason));
    await cache.set('k', 'v1');
    await adapter.set('v:k', '"changed behind our back"'); // a missed invalidation
    expect(await cache.get('k')).toBe('v1');
    reconnect!();
    expect(flushes).toEqual(['bus-reconnect']);
    expect(await cache.get('k')).toBe('changed behind our back');
  });
});

describe('DistributedCache: async context of the invalidation bus', () => {
  it("handles bus messages in the cache's context, not in that of the call that published them", async () => {
    const als = new AsyncLocalStorage<string>();
    const adapter = memoryCacheAdapter();
    // Built at startup: the bus subscription is the cache's own.
    const cache = als.run('app', () => make({ adapter }));
    await cache.ready;
    const seen: Array<string | undefined> = [];
    cache.on('error', () => void seen.push(als.getStore()));
    // Another program's message on the bus, published during some request.
    await als.run('request', () => adapter.publish(BUS_CHANNEL, 'not a bus message'));
    await eventually(() => seen.length > 0);
    expect(seen).toEqual(['app']);
  });
});
