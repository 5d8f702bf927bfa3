/**
 * A service instance in its own OS process: an HTTP server on loopback that
 * registers itself in Redis and heartbeats. Reports ready once registered;
 * after `go` it sends `registered` (its url), and every lease event. SIGTERM
 * stops it gracefully (deregisters, then returns `{ stopped: url }`);
 * SIGKILL is a crash.
 * Env: REDIS_URL, PREFIX, SERVICE, TTL_MS, PORT (0 for any).
 */
import { createServer } from 'node:http';
import { redisRegistryAdapter } from '../../../../src/adapters/redis/registry.js';
import { ServiceRegistry } from '../../../../src/registry/service-registry.js';
import { workerChannel, workerMain } from '../../../helpers/worker-main.js';

/** What an instance reports. */
export type InstanceEvent =
  | { event: 'lease'; status: string }
  | { event: 'registered'; url: string; port: number };

const env = process.env;
const channel = workerChannel<never, InstanceEvent>();
const terminated = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
});
await new Promise<void>((resolve) => server.listen(Number(env.PORT ?? 0), '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
const adapter = redisRegistryAdapter({ connection: env.REDIS_URL!, prefix: env.PREFIX! });
const registry = new ServiceRegistry({ adapter, ttlMs: Number(env.TTL_MS ?? 1500) });
registry.on('lease', (e) => channel.send({ event: 'lease', status: e.status }));
const url = `http://127.0.0.1:${port}/`;
await registry.register(env.SERVICE!, url);

workerMain<{ stopped: string }, never, InstanceEvent>(async (_payload, ch) => {
  ch.send({ event: 'registered', url, port });
  await terminated;
  await registry.close();
  await adapter.close();
  server.close();
  return { stopped: url };
});
