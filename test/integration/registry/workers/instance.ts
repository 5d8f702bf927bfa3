/**
 * A service instance in its own OS process: an HTTP server on loopback that
 * registers itself in Redis and heartbeats. SIGTERM stops it gracefully
 * (deregisters, then exits); SIGKILL is a crash.
 * Env: REDIS_URL, PREFIX, SERVICE, TTL_MS, PORT (0 for any).
 */
import { createServer } from 'node:http';
import { redisRegistryAdapter } from '../../../../src/adapters/redis/registry.js';
import { ServiceRegistry } from '../../../../src/registry/service-registry.js';

const env = process.env;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
});
await new Promise<void>((resolve) => server.listen(Number(env.PORT ?? 0), '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
const adapter = redisRegistryAdapter({ connection: env.REDIS_URL!, prefix: env.PREFIX! });
const registry = new ServiceRegistry({ adapter, ttlMs: Number(env.TTL_MS ?? 1500) });
registry.on('lease', (e) => console.log(JSON.stringify({ event: 'lease', status: e.status })));
const url = `http://127.0.0.1:${port}/`;
await registry.register(env.SERVICE!, url);
console.log(JSON.stringify({ event: 'registered', url, port }));

process.once('SIGTERM', async () => {
  await registry.close();
  await adapter.close();
  server.close();
  console.log(JSON.stringify({ event: 'stopped', url }));
  process.exit(0);
});
