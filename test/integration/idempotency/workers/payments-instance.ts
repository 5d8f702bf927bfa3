/**
 * One instance of a payments service in its own process: node:http with
 * idempotencyNode over a Redis store shared with the other instances,
 * registered in a Redis-backed ServiceRegistry. Each POST commits one
 * effect (INCR in Redis, so the test counts across processes) after a
 * short delay, so concurrent duplicates overlap. Reports `registered` with
 * its URL; on `stop` it deregisters and returns what it did.
 * Env: REDIS_URL, IDEM_PREFIX, REG_PREFIX, EFFECTS.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Idempotency, idempotencyNode, ServiceRegistry } from '../../../../src/index.js';
import { redisIdempotencyStore, redisRegistryAdapter } from '../../../../src/redis.js';
import { workerChannel, workerMain } from '../../../helpers/worker-main.js';

export type InstanceEvent = { event: 'registered'; url: string; pid: number };
export type InstanceResult = {
  pid: number;
  /** Ops this process ran. */
  ran: string[];
  /** Ops this process answered without running them (replays). */
  answered: string[];
  replayed: number;
  refused: number;
};

const env = process.env;
const store = redisIdempotencyStore({ connection: env.REDIS_URL!, prefix: env.IDEM_PREFIX! });
const keys = new Idempotency({ adapter: store, waitMs: 5_000 });
const stats = { ran: [] as string[], answered: [] as string[], replayed: 0, refused: 0 };
keys.on('replayed', () => stats.replayed++);
keys.on('conflict', () => stats.refused++);
const guard = idempotencyNode(keys, { required: true });
const read = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as { op: string };
};
const server = createServer(async (req, res) => {
  const body = await read(req);
  if (!(await guard(req, res, { body }))) {
    stats.answered.push(body.op);
    return;
  }
  stats.ran.push(body.op);
  await new Promise((r) => setTimeout(r, 50));
  await store.client.incr(`${env.EFFECTS}${body.op}`);
  res
    .writeHead(201, { 'content-type': 'application/json' })
    .end(JSON.stringify({ op: body.op, by: process.pid }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const registry = new ServiceRegistry({
  adapter: redisRegistryAdapter({ connection: env.REDIS_URL!, prefix: env.REG_PREFIX! }),
});
const registration = await registry.register('payments', url);
const channel = workerChannel<{ op: 'stop' }, InstanceEvent>();

workerMain<InstanceResult, { op: 'stop' }, InstanceEvent>(async () => {
  channel.send({ event: 'registered', url, pid: process.pid });
  await channel.receive((m) => m.op === 'stop');
  await registration.deregister();
  await registry.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await keys.close();
  await store.close();
  return { pid: process.pid, ...stats };
});
