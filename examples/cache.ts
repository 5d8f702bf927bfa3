/**
 * DistributedCache in front of a slow "database": two instances share one
 * store, a cold-key stampede runs the loader once, a write on one instance
 * evicts the other's L1, and stale values cover a failing loader.
 * Run: npm run example:cache   (REDIS_URL=redis://127.0.0.1:6379 to use Redis)
 */
import { type CacheAdapter, DistributedCache, memoryCacheAdapter } from 'scaleout';

/** Memory by default (both "instances" share one store, like two processes on one Redis). */
async function adapterFactory(): Promise<() => CacheAdapter> {
  const url = process.env.REDIS_URL;
  if (!url) {
    const shared = memoryCacheAdapter();
    return () => shared;
  }
  const { redisCacheAdapter } = await import('scaleout/redis');
  const prefix = `example:cache:${process.pid}:`;
  return () => redisCacheAdapter({ connection: url, prefix });
}

let dbCalls = 0;
let dbDown = false;
async function loadPrice(sku: string): Promise<{ sku: string; cents: number }> {
  dbCalls++;
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (dbDown) throw new Error('database unavailable');
  return { sku, cents: 1999 + dbCalls };
}

const adapter = await adapterFactory();
const options = { defaultTtlMs: 60_000, graceMs: 600_000 };
const a = new DistributedCache({ adapter: adapter(), ...options });
const b = new DistributedCache({ adapter: adapter(), ...options });
await Promise.all([a.ready(), b.ready()]);
const prices = a.namespace('price');
const pricesB = b.namespace('price');

// 1. 100 concurrent callers on two instances, one cold key: one loader call.
const all = await Promise.all(
  Array.from({ length: 100 }, (_, i) =>
    (i % 2 ? prices : pricesB).getOrSet('sku-1', () => loadPrice('sku-1')),
  ),
);
console.log(
  `stampede: ${all.length} answers, ${new Set(all.map((p) => p.cents)).size} distinct, db calls: ${dbCalls}`,
);

// 2. A write on instance A evicts the key from instance B's L1.
console.log(`B reads (L1): ${(await pricesB.get<{ cents: number }>('sku-1'))?.cents}`);
await prices.set('sku-1', { sku: 'sku-1', cents: 1499 });
await a.settle(); // the eviction message is published
await new Promise((resolve) => setTimeout(resolve, 300)); // ...and delivered to B
console.log(`B after A's write: ${(await pricesB.get<{ cents: number }>('sku-1'))?.cents}`);

// 3. Expired, and the database is down: the stale value is served (grace).
await prices.set('sku-2', { sku: 'sku-2', cents: 500 }, { ttlMs: 1 });
await new Promise((resolve) => setTimeout(resolve, 20));
dbDown = true;
const stale = await prices.getOrSet('sku-2', () => loadPrice('sku-2'));
console.log(`db down, served stale: ${stale.cents}`);

// 4. Counters and bad input.
console.log(`views: ${await a.increment('views:home')}, ${await b.increment('views:home')}`);
try {
  await a.set('bad\nkey', 1);
} catch (err) {
  console.log(`refused: ${(err as { code: string }).code}`);
}

await a.namespace('price').clear();
await a.delete('views:home');
await Promise.all([a.close(), b.close()]);
// The adapters are ours: a cache closes only an adapter it created.
await Promise.all([a.adapter.close(), b.adapter.close()]);
