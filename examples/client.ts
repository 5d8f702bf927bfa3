/**
 * ServiceClient: calls to a service with two instances, one of them broken.
 * Retries go to the other instance, the broken one's circuit opens, and the
 * remaining deadline travels downstream in a header. Nothing to install.
 * Run: npm run example:client
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEADLINE_HEADER, ServiceClient, type UpstreamSource } from '../src/index.js';

// Two instances of "inventory" on loopback: a healthy one and one answering 503.
async function startInstance(name: string, healthy: boolean): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    if (!healthy) return void res.writeHead(503).end();
    const budget = req.headers[DEADLINE_HEADER];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ instance: name, path: req.url, budgetMs: Number(budget) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}
const good = await startInstance('inventory-1', true);
const bad = await startInstance('inventory-2', false);

// Any object with pick() is a registry for the client; ServiceRegistry is one.
// This one round-robins and avoids the instances the client asks it to exclude.
const instances = [
  { id: 'inventory-2', url: bad.url },
  { id: 'inventory-1', url: good.url },
];
let next = 0;
const registry: UpstreamSource = {
  pick(_service, { exclude }) {
    const free = instances.filter((i) => !exclude.has(i.id));
    return free.length > 0 ? free[next++ % free.length] : instances[0];
  },
  onAttemptEnd: (_service, id, r) => console.log(`  ${id}: ${r.outcome}`),
};

const inventory = new ServiceClient(
  { service: 'inventory', registry },
  { deadlineMs: 1_000, breaker: { consecutiveFailures: 2 } },
);
inventory.on('retry', (e) =>
  console.log(`  retry #${e.attempt - 1} in ${e.delayMs} ms after ${e.errorCode}`),
);
inventory.on('breakerStateChange', (e) => console.log(`  breaker ${e.instanceId}: ${e.from} -> ${e.to}`));

for (let i = 1; i <= 4; i++) {
  console.log(`GET /stock/${i}`);
  const stock = await inventory.get<{ instance: string; budgetMs: number }>(`/stock/${i}`);
  console.log(`  answered by ${stock.instance}, budget sent downstream <= 1000: ${stock.budgetMs <= 1_000}`);
}

console.log('POST /reserve to the broken instance without an idempotency key: sent once');
const direct = new ServiceClient({ baseUrl: bad.url });
let attempts = 0;
direct.on('attempt', () => attempts++);
await direct.post('/reserve', { sku: 'bolt', qty: 2 }).catch((err: Error & { code?: string }) => {
  console.log(`  failed with ${err.code} after ${attempts} attempt(s): ${err.message}`);
});
await direct.close();
console.log('POST /reserve with an idempotency key: safe to retry');
const reserved = await inventory.post<{ instance: string }>(
  '/reserve',
  { sku: 'bolt' },
  { idempotencyKey: 'order-42' },
);
console.log(`  reserved by ${reserved.instance}`);

await inventory.close();
good.close();
bad.close();
