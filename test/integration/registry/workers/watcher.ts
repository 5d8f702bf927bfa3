/**
 * A process that uses a service: it watches it through Redis and sends
 * every change of its local view, with a timestamp, to the parent. After
 * `go` it sends `ready` (the view it started from) and picks an instance
 * every 20 ms. SIGTERM stops it and returns the count of successful picks.
 * Env: REDIS_URL, PREFIX, SERVICE.
 */
import { redisRegistryAdapter } from '../../../../src/adapters/redis/registry.js';
import { ServiceRegistry } from '../../../../src/registry/service-registry.js';
import { workerChannel, workerMain } from '../../../helpers/worker-main.js';

/** What a watcher reports; `at` is its clock (Date.now()) when it saw the event. */
export type WatcherEvent =
  | { event: 'change'; type: string; url: string; reason: string; at: number }
  | { event: 'error'; operation: string; at: number }
  | { event: 'ready'; urls: string[]; at: number };

const env = process.env;
const channel = workerChannel<never, WatcherEvent>();
const terminated = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
const adapter = redisRegistryAdapter({
  connection: { host: '127.0.0.1', port: Number(new URL(env.REDIS_URL!).port), maxRetriesPerRequest: 1 },
  prefix: env.PREFIX!,
});
const registry = new ServiceRegistry({ adapter, operationTimeoutMs: 500, resyncIntervalMs: 5000 });
const service = env.SERVICE!;
registry.on('change', (c) => {
  channel.send({ event: 'change', type: c.type, url: c.instance.id, reason: c.reason, at: Date.now() });
});
registry.on('error', (e) => {
  channel.send({ event: 'error', operation: e.operation, at: Date.now() });
});
await registry.watch(service);
const initial = await registry.instances(service);
const readyAt = Date.now();

workerMain<{ picks: number }, never, WatcherEvent>(async (_payload, ch) => {
  ch.send({ event: 'ready', urls: initial.map((i) => i.id), at: readyAt });
  let picks = 0;
  const picker = setInterval(() => {
    try {
      registry.pick(service);
      picks++;
    } catch {
      // An empty view is fine; the test checks the changes.
    }
  }, 20);
  await terminated;
  clearInterval(picker);
  await registry.close();
  await adapter.close();
  return { picks };
});
