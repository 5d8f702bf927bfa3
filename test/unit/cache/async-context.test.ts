import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { BUS_CHANNEL } from '../../../src/cache/l1-bus.js';
import { cacheFactory, eventually } from './helpers.js';

const make = cacheFactory();

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
