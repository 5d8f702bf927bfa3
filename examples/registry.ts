/**
 * ServiceRegistry: register instances, pick with power-of-two-choices,
 * health checks that take an instance out and bring it back, graceful
 * deregistration, typed errors. Memory adapter by default; REDIS_URL
 * switches to Redis. Run: npm run example:registry
 */
import { createServer } from 'node:http';
import { isScaleoutError, type RegistryAdapter, ServiceRegistry } from 'scaleout';

let adapter: RegistryAdapter | undefined;
if (process.env.REDIS_URL) {
  const { redisRegistryAdapter } = await import('scaleout/redis');
  adapter = redisRegistryAdapter({ connection: process.env.REDIS_URL, prefix: `example:${process.pid}:` });
}
const registry = new ServiceRegistry({
  adapter,
  ttlMs: 3000,
  slowStartMs: 0,
  healthCheck: { intervalMs: 60_000, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 2 },
});
registry.on('change', (c) => console.log(`change   ${c.type} ${c.instance.url} (${c.reason})`));
registry.on('health', (h) =>
  console.log(`health   ${h.instance.url} ${h.healthy ? 'healthy again' : 'unhealthy'}`),
);
// Three instances of inventory-service on loopback; the third answers 150 ms late.
const servers = [5, 5, 150].map((delayMs) => {
  const state = { healthy: true };
  const server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(state.healthy ? 200 : 503).end();
    else setTimeout(() => res.end('{"inStock":true}'), delayMs);
  });
  return { server, state };
});
const urls: string[] = [];
for (const { server } of servers) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await registry.register('inventory-service', url, { metadata: { zone: 'local' } });
  urls.push(url);
}
await registry.watch('inventory-service');
// 60 calls; each reports its outcome and latency, so P2C learns to avoid the slow one.
const hits = new Map<string, number>();
for (let i = 0; i < 60; i++) {
  const call = registry.startCall('inventory-service');
  const res = await fetch(`${call.instance}/check`); // an instance's string form is its URL
  await res.text();
  call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
  hits.set(call.instance.url, (hits.get(call.instance.url) ?? 0) + 1);
}
for (const url of urls) console.log(`calls    ${url} ${hits.get(url) ?? 0}/60`);

// The first instance fails two health checks in a row: out. One pass: back.
servers[0]!.state.healthy = false;
await registry.checkHealth();
await registry.checkHealth();
servers[0]!.state.healthy = true;
await registry.checkHealth();

// A graceful stop: deregistered at once, every view drops it.
await registry.deregister('inventory-service', urls[2]!);
console.log(`view     ${(await registry.instances('inventory-service')).length} instances left`);
// The same registration again changes nothing (as in the design); other options or bad input: a typed error.
await registry.register('inventory-service', urls[0]!, { metadata: { zone: 'local' } });
for (const attempt of [
  () => registry.register('inventory-service', 'not a url'),
  () => registry.register('inventory-service', urls[0]!, { weight: 5 }),
  () => registry.getServiceInstance('no-such-service'),
]) {
  try {
    await attempt();
  } catch (err) {
    if (!isScaleoutError(err)) throw err;
    console.log(`refused  ${err.code}: ${err.message}`);
  }
}
await registry.close();
await adapter?.close();
for (const { server } of servers) server.close();
