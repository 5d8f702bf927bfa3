/**
 * One OS process of the cross-process cold-key stampede in cache.bench.ts:
 * builds the named library's distributed setup on the given Redis, waits for
 * "go", runs `callers` concurrent get-or-set calls on one cold key whose
 * loader INCRs a Redis counter, and reports back.
 *
 * argv: <library> <redisUrl> <prefix> <callers>
 */
import { createKeyv } from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { DistributedCache } from '../dist/index.js';
import { redisCacheAdapter } from '../dist/redis.js';

const [library, url, prefix, callersText] = process.argv.slice(2) as [string, string, string, string];
const callers = Number(callersText);
const counter = new Redis(url);
const key = 'stampede:cold';
const loader = async () => {
  await counter.incr(`${prefix}loader-calls`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { price: 42 };
};

type GetOrSet = () => Promise<unknown>;
let getOrSet: GetOrSet;
let ready: Promise<unknown> = Promise.resolve();
let close: () => Promise<unknown>;

if (library === 'scaleout') {
  const cache = new DistributedCache({ adapter: redisCacheAdapter({ connection: url, prefix }) });
  ready = cache.ready();
  getOrSet = () => cache.getOrSet(key, loader, { ttlMs: 60_000 });
  // The adapter (and its connection) is ours: the cache closes only adapters it created.
  close = () => cache.close().then(() => cache.adapter.close());
} else if (library === 'bentocache') {
  const bento = new BentoCache({
    default: 'multi',
    prefix,
    stores: {
      multi: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection: new Redis(url) }))
        .useBus(
          redisBusDriver({ connection: { host: new URL(url).hostname, port: Number(new URL(url).port) } }),
        ),
    },
  });
  getOrSet = () => bento.getOrSet({ key, factory: loader, ttl: 60_000 });
  close = () => bento.disconnectAll();
} else if (library === 'cache-manager') {
  const redisStore = createKeyv(url, { namespace: prefix });
  const cache = createCache({ stores: [new Keyv(), redisStore] });
  getOrSet = () => cache.wrap(key, loader, 60_000);
  close = () => cache.disconnect();
} else {
  throw new Error(`unknown library ${library}`);
}

process.on('message', async (message: string) => {
  if (message !== 'go') return;
  try {
    await Promise.all(Array.from({ length: callers }, () => getOrSet()));
    process.send?.({ type: 'done' });
  } catch (err) {
    process.send?.({ type: 'error', message: String(err) });
  }
  await Promise.race([close(), new Promise((r) => setTimeout(r, 2000))]).catch(() => {});
  counter.disconnect();
  process.exit(0);
});

await ready;
// Let pub/sub subscriptions of the peers settle too.
await new Promise((resolve) => setTimeout(resolve, 500));
process.send?.({ type: 'ready' });
