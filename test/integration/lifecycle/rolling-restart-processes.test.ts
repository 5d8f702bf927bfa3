/**
 * The rolling restart: three instances of a service, each its own
 * OS process (workers/instance.ts), registered in a real redis-server; a
 * ServiceClient sends GETs and keyed POSTs for the whole run and a
 * publisher feeds a consumer group (Redis Streams or RabbitMQ, every adapter
 * default), while each instance in turn gets SIGTERM, drains, exits and is
 * started again. 0 failed calls, each POST's effect exactly once, each
 * message handled exactly once (none lost, none twice), every exit code 0;
 * the time from SIGTERM to exit is reported.
 *
 * Without an idempotency store on the server, a POST that ran twice would
 * show as a duplicate effect: the drain must not make the client retry a
 * committed POST. The idempotency variant runs POSTs through scaleout's
 * Idempotency layer on the shared Redis and loses the answer of some POSTs
 * after their effect (a reset the client sees, and retries): the retry must
 * replay the kept answer, not run the effect again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/adapters/amqp/amqp-queue-adapter.js';
import { redisStreamsQueueAdapter } from '../../../src/adapters/redis/queue.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
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

const worker = new URL('./workers/instance.ts', import.meta.url).pathname;

/** An instance process, its modules loaded, waiting to be started. */
interface Prepared {
  child: ChildProcess;
  nextLine(): Promise<string>;
}

/** Spawns an instance and waits until its modules are loaded (not yet serving nor registered). */
async function prepareInstance(env: Record<string, string>): Promise<Prepared> {
  const child = spawn(process.execPath, ['--import', 'tsx', worker], {
    env: { ...process.env, ...env, WAIT_FOR_GO: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = once(child, 'exit').then(() => {
    throw new Error('instance exited before it was ready');
  });
  exited.catch(() => {});
  const nextLine = async () => {
    const next = await Promise.race([lines.next(), exited]);
    if (next.done === true) throw new Error('instance closed its output');
    return next.value as string;
  };
  const line = await nextLine();
  if (line !== 'loaded') throw new Error(`unexpected line from the instance: ${line}`);
  return { child, nextLine };
}

/** Starts a prepared instance: it listens, registers and consumes; resolves once it is ready. */
async function startInstance(prepared: Prepared): Promise<ChildProcess> {
  prepared.child.stdin!.end('go\n');
  const line = await prepared.nextLine();
  if (!line.startsWith('ready ')) throw new Error(`unexpected line from the instance: ${line}`);
  return prepared.child;
}

interface Variant {
  name: string;
  queue: 'redis' | 'amqp';
  /** POSTs through the Idempotency layer, some answers lost after the effect. */
  idempotency: boolean;
}

const variants: Variant[] = [
  { name: 'a Redis Streams consumer group', queue: 'redis', idempotency: false },
  { name: 'a RabbitMQ consumer group', queue: 'amqp', idempotency: false },
  {
    name: 'Redis Streams, POSTs through the Idempotency layer, answers lost after the effect',
    queue: 'redis',
    idempotency: true,
  },
];

/** Deletes the RabbitMQ queues and exchanges of a run's prefix. */
async function deleteAmqpTopology(prefix: string): Promise<void> {
  const fixture = await connectAmqp();
  for (const q of ['jobs/workers', 'jobs', 'jobs.dead', 'scaleout.dead-letter'])
    fixture.track(`${prefix}${q}`);
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  await fixture.cleanup().catch(() => {});
}

describe.each(variants)('rolling restart of three OS processes with SIGTERM: $name', (variant) => {
  it('0 failed calls, 0 duplicate POST effects, 0 messages lost or handled twice, exit code 0', async () => {
    const startedAt = performance.now();
    const queuePrefix = variant.queue === 'amqp' ? `${uniqueName('rollp')}.` : `${uniquePrefix('rollp-q')}:`;
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      AMQP_URL: amqpUrl(),
      QUEUE_BACKEND: variant.queue,
      IDEMPOTENCY: variant.idempotency ? '1' : '0',
      IDEM_PREFIX: `${uniquePrefix('rollp-idem')}:`,
      REGISTRY_PREFIX: uniquePrefix('rollp-reg'),
      QUEUE_PREFIX: queuePrefix,
      COUNTER_PREFIX: `${uniquePrefix('rollp-c')}:`,
    };
    // Six processes load their modules in parallel: three start now, three replace them.
    const prepared = await Promise.all([0, 1, 2, 3, 4, 5].map(() => prepareInstance(env)));
    const spares = prepared.slice(3);
    const instances = await Promise.all(prepared.slice(0, 3).map((p) => startInstance(p)));
    const clientRegistry = new ServiceRegistry({
      adapter: redisRegistryAdapter({ connection: redis.client(), prefix: env.REGISTRY_PREFIX! }),
    });
    await clientRegistry.watch('orders');
    const client = new ServiceClient({ service: 'orders', registry: clientRegistry });
    const publisherAdapter: QueueAdapter =
      variant.queue === 'amqp'
        ? amqpQueueAdapter({ url: amqpUrl(), prefix: queuePrefix })
        : redisStreamsQueueAdapter({ connection: redis.client(), prefix: queuePrefix });
    const publisher = new MessageQueue({ adapter: publisherAdapter });
    const counters = redis.client();
    const count = async (names: string[]): Promise<number[]> =>
      names.length === 0
        ? []
        : (await counters.mget(...names.map((n) => `${env.COUNTER_PREFIX}${n}`))).map((v) => Number(v ?? 0));

    try {
      let stop = false;
      let calls = 0;
      const postIds: string[] = [];
      const failures: string[] = [];
      const workers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          calls++;
          try {
            if (i % 2 === 0) await client.get('/item');
            else {
              // One POST in 20 has its first answer lost (idempotency variant only).
              const id = `w${w}-${i}${i % 40 === 1 ? '-lose' : ''}`;
              postIds.push(id);
              await client.post('/orders', { id }, { idempotencyKey: id });
            }
          } catch (err) {
            failures.push(`${String((err as { code?: string }).code)} ${(err as Error).message}`);
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

      const exits: Array<number | null> = [];
      const stopMs: number[] = [];
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < instances.length; i++) {
        const child = instances[i]!;
        const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        const t0 = performance.now();
        child.kill('SIGTERM');
        const [code] = await exited;
        stopMs.push(performance.now() - t0);
        exits.push(code);
        instances[i] = await startInstance(spares[i]!);
        await new Promise((r) => setTimeout(r, 300));
      }
      stop = true;
      await Promise.all(workers);
      await publishing;

      const messageIds = Array.from({ length: published }, (_, i) => `handled:m${i}`);
      // With every default (claimIdleMs 30 s), a message left with a stopped
      // consumer would still be missing after this wait.
      await until(
        'every message handled',
        async () => (await count(messageIds)).every((n) => n >= 1),
        5_000,
      ).catch(() => {});
      await new Promise((r) => setTimeout(r, 300)); // a redelivery would show now
      const handled = await count(messageIds);
      const effects = await count(postIds.map((id) => `effect:${id}`));
      const lostAnswers = (await count(postIds.map((id) => `lost:${id}`))).filter((n) => n > 0).length;
      const [replayed = 0, conflicts = 0] = await count(['replayed', 'conflict']);
      stopMs.sort((a, b) => a - b);
      const summary = {
        calls,
        posts: postIds.length,
        failed: failures.length,
        duplicateEffects: effects.filter((n) => n > 1).length,
        missingEffects: effects.filter((n) => n === 0).length,
        lostAnswers,
        replayed,
        conflicts,
        messages: published,
        lost: handled.filter((n) => n === 0).length,
        handledTwice: handled.filter((n) => n > 1).length,
        stopP50Ms: Math.round(stopMs[1]!),
        stopMaxMs: Math.round(stopMs[2]!),
        exits: exits.join(','),
        wallMs: Math.round(performance.now() - startedAt),
      };
      console.log(`rolling restart (3 processes, SIGTERM, ${variant.name}): ${JSON.stringify(summary)}`);
      expect(failures).toEqual([]);
      expect(exits).toEqual([0, 0, 0]);
      expect(summary).toMatchObject({ duplicateEffects: 0, missingEffects: 0, lost: 0, handledTwice: 0 });
      if (variant.idempotency) {
        // The client did retry POSTs whose effect was committed: each retry was replayed.
        expect(lostAnswers).toBeGreaterThan(0);
        expect(replayed).toBeGreaterThanOrEqual(lostAnswers);
        expect(conflicts).toBe(0);
      }
    } finally {
      await client.close();
      await clientRegistry.close();
      await publisher.close();
      await publisherAdapter.close();
      await Promise.all(
        [...instances, ...spares.map((p) => p.child)].map(async (child) => {
          if (child.exitCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
      if (variant.queue === 'amqp') await deleteAmqpTopology(queuePrefix);
    }
  }, 90_000);
});
