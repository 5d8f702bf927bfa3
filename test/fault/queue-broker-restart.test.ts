import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { isScaleoutError, MessageQueue } from '../../src/index.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { uniquePrefix } from '../helpers/keys.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { type PrivateRabbitMq, startPrivateRabbitMq } from '../helpers/rabbitmq-server.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { sleep, until } from '../helpers/wait.js';

/**
 * Publishes with a few publishers in parallel until told to stop; records
 * the ids whose publish resolved (confirmed) and counts the failures.
 */
function publishLoop(queue: MessageQueue, topic: string) {
  const confirmed = new Set<string>();
  let failed = 0;
  let stop = false;
  let seq = 0;
  const worker = async () => {
    while (!stop) {
      const n = seq++;
      try {
        const id = await queue.publish(topic, { n }, { messageId: `m-${n}` });
        confirmed.add(id);
      } catch {
        failed++;
        await sleep(20);
      }
    }
  };
  const done = Promise.all([worker(), worker(), worker(), worker()]);
  return {
    confirmed,
    get failed() {
      return failed;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

describe('RabbitMQ killed (SIGKILL) and restarted while publishing', () => {
  let broker: PrivateRabbitMq;
  beforeAll(async () => {
    broker = await startPrivateRabbitMq();
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  it('loses no confirmed message, buffers publishes while down, and consuming resumes by itself', async () => {
    const logs: string[] = [];
    const logger = {
      warn: (m: string, f?: Record<string, unknown>) => logs.push(`${m} ${JSON.stringify(f)}`),
    };
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        url: broker.url,
        reconnectBaseMs: 50,
        reconnectMaxMs: 500,
        publishTimeoutMs: 90_000,
        logger,
      }),
    );
    const queue = new MessageQueue({ adapter });
    // A second publisher with a tiny buffer, to see the bound while the broker is down.
    const small = closedAfterTest(
      amqpQueueAdapter({ url: broker.url, maxBufferedPublishes: 2, publishTimeoutMs: 90_000 }),
    );
    const smallQueue = new MessageQueue({ adapter: small });
    const topic = 'orders.restart';
    await smallQueue.publish(topic, 'warm-up');
    const received = new Set<string>();
    await queue.consume(topic, (_m, ctx) => void received.add(ctx.id), { prefetch: 50 });

    const pub = publishLoop(queue, topic);
    await until('some confirmed publishes', () => pub.confirmed.size >= 200, 30_000);
    await broker.kill();
    const confirmedBeforeKill = pub.confirmed.size;

    // While it is down: two publishes wait in the small buffer, the third is refused at once.
    await until('the adapter to see the loss', () => !small.connected, 10_000);
    const waiting = [smallQueue.publish(topic, 'buffered-1'), smallQueue.publish(topic, 'buffered-2')];
    await expect(smallQueue.publish(topic, 'overflow')).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_QUEUE_BUFFER_FULL'),
    );

    await broker.restart();
    await Promise.all(waiting); // the buffered publishes went out after the reconnect
    const afterRestart = pub.confirmed.size;
    await until('publishes after the restart', () => pub.confirmed.size >= afterRestart + 200, 60_000);
    await pub.stop();

    await until(
      'every confirmed message to be consumed',
      () => [...pub.confirmed].every((id) => received.has(id)),
      60_000,
    );
    expect(confirmedBeforeKill).toBeGreaterThanOrEqual(200);
    expect(adapter.reconnects).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.includes('guest:guest'))).toBe(false);
    await smallQueue.close();
    await queue.close();
  }, 180_000);
});

describe('redis-server killed and restarted (AOF) while publishing to a stream', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ persist: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('loses no confirmed message and consuming resumes by itself', async () => {
    const adapter = closedAfterTest(
      redisStreamsQueueAdapter({
        connection: server.url,
        prefix: uniquePrefix('restart'),
        claimIdleMs: 1_000,
        sweepIntervalMs: 100,
        blockMs: 200,
      }),
    );
    const queue = new MessageQueue({ adapter });
    const topic = 'orders.restart';
    const received = new Set<string>();
    await queue.consume(topic, (_m, ctx) => void received.add(ctx.id), { prefetch: 50 });
    const pub = publishLoop(queue, topic);
    await until('some confirmed publishes', () => pub.confirmed.size >= 200, 30_000);
    await server.kill();
    await sleep(300);
    await server.restart();
    const afterRestart = pub.confirmed.size;
    await until('publishes after the restart', () => pub.confirmed.size >= afterRestart + 200, 60_000);
    await pub.stop();
    await until(
      'every confirmed message to be consumed',
      () => [...pub.confirmed].every((id) => received.has(id)),
      60_000,
    );
    await queue.close();
  }, 120_000);
});
