import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { Idempotency, MessageQueue, type QueueAdapter } from '../../src/index.js';
import { redisIdempotencyStore, redisStreamsQueueAdapter } from '../../src/redis.js';
import { uniquePrefix } from '../helpers/keys.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { startWorker } from '../helpers/workers.js';

const consumer = fileURLToPath(new URL('./fixtures/dedupe-consumer.ts', import.meta.url));

interface Backend {
  BACKEND: 'amqp' | 'redis';
  QUEUE_URL: string;
  PREFIX: string;
  TOPIC: string;
  adapter(): QueueAdapter;
}

/**
 * A consumer process applies the message's effect and is killed before its
 * ack; then a consumer in this process gets the redelivery. Returns the
 * effect count and what the second consumer did with the redelivery.
 */
async function killedBeforeAck(redis: RedisServer, backend: Backend, dedupe: boolean) {
  const idemPrefix = uniquePrefix('idem-q');
  const effects = uniquePrefix('effects');
  const queue = new MessageQueue({ adapter: closedAfterTest(backend.adapter()) });
  const keys = new Idempotency({
    adapter: redisIdempotencyStore({ connection: redis.url, prefix: idemPrefix }),
  });
  try {
    const id = await queue.publish(backend.TOPIC, { orderId: 'o-1' });
    const worker = await startWorker(consumer, {
      env: {
        BACKEND: backend.BACKEND,
        QUEUE_URL: backend.QUEUE_URL,
        PREFIX: backend.PREFIX,
        TOPIC: backend.TOPIC,
        REDIS_URL: redis.url,
        IDEM_PREFIX: idemPrefix,
        EFFECTS: effects,
        DEDUPE: dedupe ? '1' : '0',
      },
    });
    worker.go();
    const exit = await worker.exited;
    expect(exit.signal).toBe('SIGKILL');
    const counter = redis.client();
    expect(await counter.get(`${effects}${id}`)).toBe('1');
    const replayed: string[] = [];
    keys.on('replayed', (e) => replayed.push(e.key));
    const ran: Array<{ id: string; deliveryCount: number }> = [];
    await queue.consume(
      backend.TOPIC,
      async (_m, ctx) => {
        await counter.incr(`${effects}${ctx.id}`);
        ran.push({ id: ctx.id, deliveryCount: ctx.deliveryCount });
      },
      { prefetch: 1, ...(dedupe ? { dedupe: keys } : {}) },
    );
    await until('the redelivery', () => replayed.length + ran.length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    return { id, effects: Number(await counter.get(`${effects}${id}`)), replayed, ran };
  } finally {
    await queue.close();
    await keys.close();
    await keys.adapter.close();
  }
}

describe('a consumer killed after its effect and before its ack', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const redisBackend = (): Backend => {
    const prefix = uniquePrefix('q');
    return {
      BACKEND: 'redis',
      QUEUE_URL: redis.url,
      PREFIX: prefix,
      TOPIC: 'orders',
      adapter: () =>
        redisStreamsQueueAdapter({ connection: redis.url, prefix, claimIdleMs: 1_000, sweepIntervalMs: 100 }),
    };
  };

  it('Redis Streams with dedupe: the redelivery is skipped (one effect)', async () => {
    const r = await killedBeforeAck(redis, redisBackend(), true);
    expect(r.effects).toBe(1);
    expect(r.ran).toEqual([]);
    expect(r.replayed).toEqual([`queue:orders:default:${r.id}`]);
  }, 60_000);

  it('Redis Streams without dedupe (control): the redelivery runs the effect again', async () => {
    const r = await killedBeforeAck(redis, redisBackend(), false);
    expect(r.effects).toBe(2);
    expect(r.ran).toEqual([{ id: r.id, deliveryCount: 2 }]);
  }, 60_000);

  describe('RabbitMQ', () => {
    const amqpBackend = async (fixture: Awaited<ReturnType<typeof connectAmqp>>): Promise<Backend> => {
      const prefix = 'scaleout-test.';
      const topic = uniqueName('dedupe');
      fixture.track(`${prefix}${topic}`);
      fixture.track(`${prefix}${topic}.dead`);
      return {
        BACKEND: 'amqp',
        QUEUE_URL: amqpUrl(),
        PREFIX: prefix,
        TOPIC: topic,
        adapter: () => amqpQueueAdapter({ url: amqpUrl(), prefix }),
      };
    };

    it('with dedupe: the redelivery is skipped (one effect)', async () => {
      const fixture = await connectAmqp();
      try {
        const backend = await amqpBackend(fixture);
        const r = await killedBeforeAck(redis, backend, true);
        expect(r.effects).toBe(1);
        expect(r.ran).toEqual([]);
        expect(r.replayed).toEqual([`queue:${backend.TOPIC}:default:${r.id}`]);
      } finally {
        await fixture.cleanup();
      }
    }, 60_000);

    it('without dedupe (control): the redelivery runs the effect again', async () => {
      const fixture = await connectAmqp();
      try {
        const r = await killedBeforeAck(redis, await amqpBackend(fixture), false);
        expect(r.effects).toBe(2);
        expect(r.ran).toHaveLength(1);
      } finally {
        await fixture.cleanup();
      }
    }, 60_000);
  });
});
