/**
 * Publish + consume throughput, messages/s, each message confirmed by the
 * broker and acknowledged by a consumer:
 * - RabbitMQ: MessageQueue over amqpQueueAdapter vs raw amqplib (confirm
 *   channel publish, consumer channel with the same prefetch, ack per message);
 * - Redis Streams: MessageQueue over redisStreamsQueueAdapter vs BullMQ
 *   (Queue.add + Worker), on the same local redis-server.
 * Each call publishes a batch of BATCH messages concurrently and resolves when
 * all of them were consumed.
 */
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { amqpQueueAdapter } from '../src/amqp.js';
import { MessageQueue } from '../src/index.js';
import { redisStreamsQueueAdapter } from '../src/redis.js';
import { amqpUrl, uniqueName } from '../test/helpers/rabbitmq.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import type { BenchContext } from './lib.js';

const BATCH = 100;
const PREFETCH = 50;
const payload = { orderId: 'o_123456', customerId: 'c_42', total: 99.9, items: [{ sku: 'A1', qty: 2 }] };

/** A counter that resolves a promise when it reaches a target. */
function batchCounter() {
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  let resolve: () => void = () => {};
  return {
    hit() {
      count++;
      if (count >= target) resolve();
    },
    wait(n: number): Promise<void> {
      return new Promise<void>((r) => {
        target = count + n;
        resolve = r;
      });
    },
  };
}

async function amqpPair(ctx: BenchContext): Promise<void> {
  const url = amqpUrl();
  // raw amqplib
  const rawConn: ChannelModel = await connect(url);
  const rawPub: ConfirmChannel = await rawConn.createConfirmChannel();
  const rawSub: Channel = await rawConn.createChannel();
  const rawQueue = uniqueName('bench.raw');
  await rawPub.assertQueue(rawQueue, { durable: true });
  const rawExchange = uniqueName('bench.ex');
  await rawPub.assertExchange(rawExchange, 'direct', { durable: true, autoDelete: true });
  await rawPub.bindQueue(rawQueue, rawExchange, rawQueue);
  await rawSub.prefetch(PREFETCH);
  const rawCounter = batchCounter();
  await rawSub.consume(rawQueue, (msg) => {
    if (msg === null) return;
    JSON.parse(msg.content.toString('utf8'));
    rawSub.ack(msg);
    rawCounter.hit();
  });
  const rawPublish = (n: number, exchange = '') =>
    new Promise<void>((resolve, reject) => {
      rawPub.publish(
        exchange,
        rawQueue,
        Buffer.from(JSON.stringify({ ...payload, n })),
        { persistent: true, messageId: String(n), contentType: 'application/json' },
        (err) => (err ? reject(err) : resolve()),
      );
    });

  // scaleout
  const prefix = 'scaleout-bench.';
  const topic = uniqueName('bench.so');
  const queue = new MessageQueue({ adapter: amqpQueueAdapter({ url, prefix }) });
  const soCounter = batchCounter();
  await queue.consume(topic, () => soCounter.hit(), { prefetch: PREFETCH, deadLetter: false });

  let seq = 0;
  await ctx.compare(
    `RabbitMQ: publish with confirm + consume + ack, batches of ${BATCH}`,
    {
      'raw amqplib': async () => {
        const done = rawCounter.wait(BATCH);
        await Promise.all(Array.from({ length: BATCH }, () => rawPublish(seq++)));
        await done;
      },
      'raw amqplib via a direct exchange': async () => {
        const done = rawCounter.wait(BATCH);
        await Promise.all(Array.from({ length: BATCH }, () => rawPublish(seq++, rawExchange)));
        await done;
      },
      'MessageQueue (amqp)': async () => {
        const done = soCounter.wait(BATCH);
        await Promise.all(
          Array.from({ length: BATCH }, () => queue.publish(topic, { ...payload, n: seq++ })),
        );
        await done;
      },
    },
    { opsPerCall: BATCH, timeMs: 1_500, warmupMs: 300, rounds: 9 },
  );

  await queue.close();
  const cleanup = await rawConn.createChannel();
  await cleanup.deleteQueue(rawQueue);
  await cleanup.deleteQueue(`${prefix}${topic}`);
  await rawConn.close();
}

async function redisPair(ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  try {
    const queue = new MessageQueue({
      adapter: redisStreamsQueueAdapter({ connection: server.url, prefix: 'bench:so:' }),
    });
    const soCounter = batchCounter();
    await queue.consume('orders', () => soCounter.hit(), { prefetch: PREFETCH, deadLetter: false });

    const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
    const bullQueue = new Queue('orders', { connection, prefix: 'bench:bull' });
    const bullCounter = batchCounter();
    const workerConnection = new Redis(connection);
    const worker = new Worker(
      'orders',
      async () => {
        bullCounter.hit();
      },
      { connection: workerConnection, prefix: 'bench:bull', concurrency: PREFETCH },
    );
    await worker.waitUntilReady();

    let seq = 0;
    await ctx.compare(
      `Redis Streams vs BullMQ: add + process, batches of ${BATCH}`,
      {
        BullMQ: async () => {
          const done = bullCounter.wait(BATCH);
          await Promise.all(
            Array.from({ length: BATCH }, () =>
              bullQueue.add(
                'order',
                { ...payload, n: seq++ },
                { removeOnComplete: true, removeOnFail: true },
              ),
            ),
          );
          await done;
        },
        'MessageQueue (redis streams)': async () => {
          const done = soCounter.wait(BATCH);
          await Promise.all(
            Array.from({ length: BATCH }, () => queue.publish('orders', { ...payload, n: seq++ })),
          );
          await done;
        },
      },
      { opsPerCall: BATCH, timeMs: 1_500, warmupMs: 300, rounds: 9 },
    );
    await worker.close();
    await bullQueue.close();
    workerConnection.disconnect();
    await queue.close();
  } finally {
    await server.stop();
  }
}

export default async function (ctx: BenchContext): Promise<void> {
  await amqpPair(ctx);
  await redisPair(ctx);
}
