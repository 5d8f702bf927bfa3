/**
 * One instance of the rolling-restart test, in its own OS process: an HTTP
 * server, a registration in Redis, a Redis Streams consumer, all under a
 * ServiceLifecycle that stops on SIGTERM and exits with its exit code.
 * Effects (POSTs served, messages handled) are counted in Redis, so the
 * parent sees every process's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { MessageQueue, ServiceLifecycle, ServiceRegistry } from '../../../../src/index.js';
import { redisRegistryAdapter, redisStreamsQueueAdapter } from '../../../../src/redis.js';

const env = process.env as Record<string, string>;
const redis = new Redis(env.REDIS_URL!);
const counters = env.COUNTER_PREFIX!;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      // The effect is committed first, the answer sent 15 ms later: a process that dies in
      // between leaves a committed effect without an answer (a retry would duplicate it).
      if (req.method === 'POST') {
        const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
        await redis.incr(`${counters}effect:${id}`);
      }
      await new Promise((r) => setTimeout(r, 15));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ pid: process.pid }));
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
const registry = lifecycle.manage(
  new ServiceRegistry({
    adapter: redisRegistryAdapter({ connection: env.REDIS_URL!, prefix: env.REGISTRY_PREFIX! }),
  }),
);
const queue = lifecycle.manage(
  new MessageQueue({
    adapter: redisStreamsQueueAdapter({
      connection: env.REDIS_URL!,
      prefix: env.QUEUE_PREFIX!,
      consumerName: `pid-${process.pid}`,
      blockMs: 100,
      claimIdleMs: 1_500,
    }),
  }),
);
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
