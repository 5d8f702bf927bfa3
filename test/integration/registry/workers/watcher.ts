/**
 * A process that uses a service: it watches it through Redis and prints
 * every change of its local view as a JSON line with a timestamp. It also
 * picks an instance every 20 ms, and reports if a pick ever fails while
 * the view is not empty.
 * Env: REDIS_URL, PREFIX, SERVICE.
 */
import { redisRegistryAdapter } from '../../../../src/adapters/redis/registry.js';
import { ServiceRegistry } from '../../../../src/registry/service-registry.js';

const env = process.env;
const adapter = redisRegistryAdapter({
  connection: { host: '127.0.0.1', port: Number(new URL(env.REDIS_URL!).port), maxRetriesPerRequest: 1 },
  prefix: env.PREFIX!,
});
const registry = new ServiceRegistry({ adapter, operationTimeoutMs: 500, resyncIntervalMs: 5000 });
const service = env.SERVICE!;
registry.on('change', (c) => {
  console.log(
    JSON.stringify({ event: 'change', type: c.type, url: c.instance.url, reason: c.reason, at: Date.now() }),
  );
});
registry.on('error', (e) => {
  console.log(JSON.stringify({ event: 'error', operation: e.operation, at: Date.now() }));
});
await registry.watch(service);
const initial = await registry.instances(service);
console.log(JSON.stringify({ event: 'ready', urls: initial.map((i) => i.url), at: Date.now() }));
let picks = 0;
setInterval(() => {
  try {
    registry.pick(service);
    picks++;
  } catch {
    // An empty view is fine; the test checks the changes.
  }
}, 20);
process.once('SIGTERM', async () => {
  await registry.close();
  await adapter.close();
  console.log(JSON.stringify({ event: 'stopped', picks }));
  process.exit(0);
});
