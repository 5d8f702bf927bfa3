/**
 * ServiceClient: calls to a service with two instances found through a
 * ServiceRegistry, one of them broken. Retries go to the other instance, the
 * broken one's circuit opens, every attempt is reported to the registry
 * (outstanding counts, outlier ejection), and the remaining deadline travels
 * downstream in a header. Nothing to install.
 * Run: npm run example:client
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEADLINE_HEADER, roundRobinBalancer, ServiceClient, ServiceRegistry } from 'scaleout';

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
// The registry: memory adapter here; redisRegistryAdapter shares it across a fleet.
const registry = new ServiceRegistry({ balancer: roundRobinBalancer });
const names = new Map<string, string>();
for (const [name, instance] of [
  ['inventory-2', bad],
  ['inventory-1', good],
] as const) {
  names.set((await registry.register('inventory', instance.url)).instance.id, name);
}
registry.on('ejection', (e) => console.log(`  registry ejected ${names.get(e.instance.id)}: ${e.ejected}`));

const inventory = new ServiceClient(
  { service: 'inventory', registry },
  { deadlineMs: 1_000, breaker: { consecutiveFailures: 2 } },
);
inventory.on('retry', (e) =>
  console.log(`  retry #${e.attempt - 1} in ${e.delayMs} ms after ${e.errorCode}`),
);
inventory.on('attempt', (e) => console.log(`  ${names.get(e.instanceId)}: ${e.outcome}`));
inventory.on('breaker-state-change', (e) =>
  console.log(`  breaker ${names.get(e.instanceId)}: ${e.from} -> ${e.to}`),
);

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

console.log(
  'outstanding after the calls:',
  (await registry.instances('inventory')).map((i) => i.outstanding),
);
await inventory.close();
await registry.close();
good.close();
bad.close();
