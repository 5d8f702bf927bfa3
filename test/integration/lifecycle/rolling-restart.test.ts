/**
 * A rolling restart on loopback: two instances of a service, each with its
 * own registry, queue consumer and ServiceLifecycle, registered in a real
 * redis-server; a ServiceClient sends GETs and keyed POSTs (no idempotency
 * store on the server: a POST run twice would show) for the whole run, and
 * a publisher feeds a consumer group (Redis Streams, then RabbitMQ) whose
 * handler takes 150 ms, while each instance in turn is stopped (shutdown():
 * deregister, drain, consumers finish, close) and replaced. Nothing may be
 * lost: 0 failed calls, each POST's effect exactly once, each message
 * handled exactly once, every stop clean (exit code 0).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/adapters/amqp/amqp-queue-adapter.js';
import { redisStreamsQueueAdapter } from '../../../src/adapters/redis/queue.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
import { ServiceLifecycle } from '../../../src/lifecycle/service-lifecycle.js';
import type { ShutdownReport } from '../../../src/lifecycle/shutdown-report.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

interface Instance {
  url: string;
  lifecycle: ServiceLifecycle;
  consumer: { readonly inFlight: number };
}

interface Backend {
  name: string;
  /** A queue adapter of the run's queue; `consumerName` for back ends that name consumers. */
  adapter(run: string, consumerName?: string): QueueAdapter;
  cleanup(run: string): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'Redis Streams',
    adapter: (run, consumerName) =>
      redisStreamsQueueAdapter({
        connection: redis.client(),
        prefix: run,
        // Every default (claimIdleMs 30 s): a stop leaves no message read but not started.
        ...(consumerName === undefined ? {} : { consumerName }),
      }),
    cleanup: async () => {},
  },
  {
    name: 'RabbitMQ',
    adapter: (run) => amqpQueueAdapter({ url: amqpUrl(), prefix: run }),
    cleanup: async (run) => {
      const fixture = await connectAmqp();
      for (const q of ['jobs/workers', 'jobs', 'jobs.dead', 'scaleout.dead-letter'])
        fixture.track(`${run}${q}`);
      fixture.track(`${run}scaleout.topics`, 'exchange');
      fixture.track(`${run}scaleout.dead-letter`, 'exchange');
      await fixture.cleanup().catch(() => {});
    },
  },
];

describe.each(backends)('rolling restart behind the registry, queue on $name', (backend) => {
  it('loses no request and no message; every stop exits 0', async () => {
    const registryPrefix = uniquePrefix('roll-reg');
    const queuePrefix = backend.name === 'RabbitMQ' ? `${uniqueName('roll')}.` : `${uniquePrefix('roll-q')}:`;
    let cleaned = false;
    const cleanup = async () => {
      if (cleaned) return;
      cleaned = true;
      await backend.cleanup(queuePrefix);
    };
    const postEffects = new Map<string, number>();
    const handled = new Map<string, number>();
    let messagesInFlightAtStop = 0;

    async function startInstance(n: number): Promise<Instance> {
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          setTimeout(() => {
            if (req.method === 'POST') {
              const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string };
              postEffects.set(id, (postEffects.get(id) ?? 0) + 1);
            }
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ instance: n }));
          }, 15);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const lifecycle = new ServiceLifecycle({ servers: [server], deadlineMs: 8_000 });
      const registry = lifecycle.manage(
        new ServiceRegistry({
          adapter: redisRegistryAdapter({ connection: redis.client(), prefix: registryPrefix }),
        }),
      );
      const queueAdapter = backend.adapter(queuePrefix, `instance-${n}`);
      lifecycle.manage({ close: () => queueAdapter.close() }, { name: 'queue adapter' });
      const queue = lifecycle.manage(new MessageQueue({ adapter: queueAdapter }));
      lifecycle.manage(await registry.register('orders', url, { ttlMs: 10_000 }));
      const consumer = lifecycle.manage(
        await queue.consume(
          'jobs',
          async (message: { id: string }) => {
            await new Promise((r) => setTimeout(r, 150));
            handled.set(message.id, (handled.get(message.id) ?? 0) + 1);
          },
          { group: 'workers' },
        ),
      );
      return { url, lifecycle, consumer };
    }

    const instances = [await startInstance(1), await startInstance(2)];
    const clientRegistry = new ServiceRegistry({
      adapter: redisRegistryAdapter({ connection: redis.client(), prefix: registryPrefix }),
    });
    const client = new ServiceClient({ service: 'orders', registry: clientRegistry });
    const publisherAdapter = backend.adapter(queuePrefix);
    const publisher = new MessageQueue({ adapter: publisherAdapter });
    await clientRegistry.watch('orders');

    let stop = false;
    let calls = 0;
    const failures: string[] = [];
    let posts = 0;
    const workers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        calls++;
        try {
          if (i % 2 === 0) await client.get('/item');
          else {
            const id = `w${w}-${i}`;
            posts++;
            await client.post('/orders', { id }, { idempotencyKey: id });
          }
        } catch (err) {
          failures.push(String((err as { code?: string }).code ?? err));
        }
      }
    });
    let published = 0;
    const publishing = (async () => {
      while (!stop) {
        await publisher.publish('jobs', { id: `m${published++}` });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const reports: ShutdownReport[] = [];
    const stopTimes: number[] = [];
    await new Promise((r) => setTimeout(r, 400));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < instances.length; i++) {
        messagesInFlightAtStop += instances[i]!.consumer.inFlight;
        const t0 = performance.now();
        const report = await instances[i]!.lifecycle.shutdown();
        stopTimes.push(performance.now() - t0);
        reports.push(report);
        instances[i] = await startInstance(10 * (round + 1) + i);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    stop = true;
    await Promise.all(workers);
    await publishing;
    await until('every message handled', () => handled.size === published, 20_000).catch((err: unknown) => {
      throw new Error(`${handled.size} of ${published} messages handled: ${String(err)}`);
    });
    await new Promise((r) => setTimeout(r, 300)); // a redelivery would show now

    const duplicatePosts = [...postEffects.values()].filter((n) => n > 1).length;
    const duplicateMessages = [...handled.values()].filter((n) => n > 1).length;
    stopTimes.sort((a, b) => a - b);
    console.log(
      `rolling restart: ${calls} calls (${posts} POSTs), ${failures.length} failed, ${duplicatePosts} duplicate POST effects; ` +
        `${published} messages (${messagesInFlightAtStop} mid-handler at a stop), ${duplicateMessages} handled twice; stop p50 ${Math.round(stopTimes[Math.floor(stopTimes.length / 2)]!)} ms, max ${Math.round(stopTimes.at(-1)!)} ms`,
    );
    expect(failures).toEqual([]);
    expect(postEffects.size).toBe(posts);
    expect(duplicatePosts).toBe(0);
    expect(duplicateMessages).toBe(0);
    expect(handled.size).toBe(published);
    for (const r of reports) expect(r).toMatchObject({ clean: true, exitCode: 0 });

    await client.close();
    await clientRegistry.close();
    await publisher.close();
    await publisherAdapter.close();
    for (const inst of instances) await inst.lifecycle.shutdown();
    await cleanup();
  }, 60_000);
});
