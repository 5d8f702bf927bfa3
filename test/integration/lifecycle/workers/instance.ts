/**
 * One instance of the rolling-restart test, in its own OS process: an HTTP
 * server, a registration in Redis, a queue consumer (Redis Streams or
 * RabbitMQ: QUEUE_BACKEND), all under a ServiceLifecycle that stops on
 * SIGTERM and exits with its exit code. Effects (POSTs served, messages
 * handled) are counted in Redis, so the parent sees every process's.
 *
 * With IDEMPOTENCY=1, POSTs go through scaleout's Idempotency layer
 * (`idempotencyNode`) on the shared Redis, and the answer of a POST whose id
 * ends in `-lose` is lost once, after its effect was committed: the socket
 * is destroyed before the response is written, so the client sees a reset
 * and retries the POST (it carries an idempotency key).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { amqpQueueAdapter } from '../../../../src/adapters/amqp/amqp-queue-adapter.js';
import { redisIdempotencyStore } from '../../../../src/adapters/redis/idempotency.js';
import { redisStreamsQueueAdapter } from '../../../../src/adapters/redis/queue.js';
import { redisRegistryAdapter } from '../../../../src/adapters/redis/registry.js';
import type { QueueAdapter } from '../../../../src/contracts/queue.js';
import { Idempotency } from '../../../../src/idempotency/idempotency.js';
import { idempotencyNode } from '../../../../src/idempotency/idempotency-node.js';
import { ServiceLifecycle } from '../../../../src/lifecycle/service-lifecycle.js';
import { MessageQueue } from '../../../../src/queue/message-queue.js';
import { ServiceRegistry } from '../../../../src/registry/service-registry.js';

const env = process.env as Record<string, string>;
if (env.WAIT_FOR_GO === '1') {
  // Loaded ahead (as a pulled image is): the instance starts when told.
  process.stdout.write('loaded\n');
  const input = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => input.once('line', () => resolve()));
  input.close();
}
const redis = new Redis(env.REDIS_URL!);
const counters = env.COUNTER_PREFIX!;

const keys =
  env.IDEMPOTENCY === '1'
    ? new Idempotency({
        adapter: redisIdempotencyStore({ connection: env.REDIS_URL!, prefix: env.IDEM_PREFIX! }),
      })
    : undefined;
keys?.on('replayed', () => void redis.incr(`${counters}replayed`));
keys?.on('conflict', () => void redis.incr(`${counters}conflict`));
const guard = keys === undefined ? undefined : idempotencyNode(keys);

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const body =
        req.method === 'POST' ? (JSON.parse(Buffer.concat(chunks).toString()) as { id: string }) : undefined;
      // A replay of the stored answer, or a problem: answered by the guard, nothing runs.
      if (guard !== undefined && body !== undefined && !(await guard(req, res, { body }))) return;
      // The effect is committed first, the answer sent 15 ms later: a process that dies in
      // between leaves a committed effect without an answer (a retry would duplicate it).
      if (body !== undefined) await redis.incr(`${counters}effect:${body.id}`);
      await new Promise((r) => setTimeout(r, 15));
      res.setHeader('content-type', 'application/json');
      const answer = JSON.stringify({ pid: process.pid });
      if (
        guard !== undefined &&
        body?.id.endsWith('-lose') === true &&
        (await redis.set(`${counters}lost:${body.id}`, String(process.pid), 'NX')) === 'OK'
      ) {
        // The answer is lost on the way: the client sees a reset. The guard still
        // keeps it (res.end() is the handler's commit) for the retry to replay.
        res.socket?.destroy();
        res.end(answer);
        return;
      }
      res.end(answer);
    })();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const lifecycle = new ServiceLifecycle({
  servers: [server],
  signals: ['SIGTERM'],
  exitProcess: true,
  deadlineMs: 8_000,
});
lifecycle.manage({ close: () => redis.quit() }, { name: 'counters' });
if (keys !== undefined) lifecycle.manage(keys);
const registryAdapter = redisRegistryAdapter({ connection: env.REDIS_URL!, prefix: env.REGISTRY_PREFIX! });
lifecycle.manage({ close: () => registryAdapter.close() }, { name: 'registry adapter' });
const registry = lifecycle.manage(new ServiceRegistry({ adapter: registryAdapter }));
// Every default of the adapters: no claimIdleMs shortened to hide a slow hand-back.
const queueAdapter: QueueAdapter =
  env.QUEUE_BACKEND === 'amqp'
    ? amqpQueueAdapter({ url: env.AMQP_URL!, prefix: env.QUEUE_PREFIX! })
    : redisStreamsQueueAdapter({
        connection: env.REDIS_URL!,
        prefix: env.QUEUE_PREFIX!,
        consumerName: `pid-${process.pid}`,
      });
lifecycle.manage({ close: () => queueAdapter.close() }, { name: 'queue adapter' });
const queue = lifecycle.manage(new MessageQueue({ adapter: queueAdapter }));
lifecycle.manage(await registry.register('orders', url, { ttlMs: 10_000 }));
lifecycle.manage(
  await queue.consume(
    'jobs',
    async (message: { id: string }) => {
      // Handled first, acknowledged 150 ms later (when the handler returns).
      await redis.incr(`${counters}handled:${message.id}`);
      await new Promise((r) => setTimeout(r, 150));
    },
    { group: 'workers' },
  ),
);
lifecycle.on('stopped', (report) => {
  process.stderr.write(
    `instance ${process.pid} stopped: exit ${report.exitCode} in ${report.durationMs} ms ${report.steps.map((s) => `${s.name}=${s.outcome}`).join(' ')}\n`,
  );
});
process.stdout.write(`ready ${url}\n`);
