import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { MessageQueue } from '../../src/index.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { uniquePrefix } from '../helpers/keys.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { startWorker } from '../helpers/workers.js';
import type { Got } from './fixtures/stuck-consumer.js';

const stuckConsumer = fileURLToPath(new URL('./fixtures/stuck-consumer.ts', import.meta.url));

async function redeliveredAfterKill(
  queue: MessageQueue,
  topic: string,
  consumerEnv: { BACKEND: 'amqp' | 'redis'; QUEUE_URL: string; PREFIX: string; TOPIC: string },
): Promise<{ id: string; redelivered: { id: string; n: number } }> {
  const id = await queue.publish(topic, { orderId: 'killed-mid-message' });
  const consumer = await startWorker<never, Got>(stuckConsumer, { env: consumerEnv });
  try {
    consumer.go();
    expect((await consumer.next()).id).toBe(id);
  } finally {
    await consumer.stop('SIGKILL');
  }
  const seen: Array<{ id: string; n: number }> = [];
  await queue.consume(topic, (_m, ctx) => void seen.push({ id: ctx.id, n: ctx.deliveryCount }));
  for (let i = 0; i < 300 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(seen.length).toBe(1);
  return { id, redelivered: seen[0]! };
}

describe('a consumer process killed mid-message', () => {
  it('RabbitMQ: the message is redelivered to another consumer, counted as a second delivery', async () => {
    const prefix = 'scaleout-test.';
    const topic = uniqueName('killed');
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
    });
    const fixture = await connectAmqp();
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    try {
      const { id, redelivered } = await redeliveredAfterKill(queue, topic, {
        BACKEND: 'amqp',
        QUEUE_URL: amqpUrl(),
        PREFIX: prefix,
        TOPIC: topic,
      });
      expect(redelivered.id).toBe(id);
      expect(redelivered.n).toBe(2);
    } finally {
      await queue.close();
      await fixture.cleanup();
    }
  }, 60_000);

  describe('Redis Streams', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('the message is reclaimed (XAUTOCLAIM) by another consumer after the idle time', async () => {
      const prefix = uniquePrefix('killed');
      const topic = 'orders';
      const queue = new MessageQueue({
        adapter: closedAfterTest(
          redisStreamsQueueAdapter({
            connection: server.url,
            prefix,
            claimIdleMs: 1_000,
            sweepIntervalMs: 100,
          }),
        ),
      });
      try {
        const { id, redelivered } = await redeliveredAfterKill(queue, topic, {
          BACKEND: 'redis',
          QUEUE_URL: server.url,
          PREFIX: prefix,
          TOPIC: topic,
        });
        expect(redelivered.id).toBe(id);
        expect(redelivered.n).toBe(2);
      } finally {
        await queue.close();
      }
    }, 60_000);
  });
});
