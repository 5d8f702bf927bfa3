/**
 * One trace across the queue on the real back ends: the context written by
 * the PRODUCER span survives a retry copy, a Redis Streams reclaim and a
 * RabbitMQ redelivery (consumerTrace: 'child', so every CONSUMER span is a
 * child of the producer's).
 */
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
import { MessageQueue } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { installOtel, parentOf } from '../../helpers/otel.js';
import { amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

const otel = installOtel();
let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
  await otel.uninstall();
});

const fast = { retryBaseMs: 1, retryMaxMs: 2, consumerTrace: 'child' } as const;

function spansOf(topic: string, kind: SpanKind): ReadableSpan[] {
  return otel.spans().filter((s) => s.kind === kind && s.attributes['messaging.destination.name'] === topic);
}

/** Publishes `topic` in a request span; resolves to that span's trace id and the producer's span id. */
async function publishInRequest(queue: MessageQueue, topic: string): Promise<Sent> {
  let id = '';
  await trace.getTracer('test').startActiveSpan('request', async (span) => {
    id = await queue.publish(topic, { n: 1 });
    span.end();
  });
  const producer = spansOf(topic, SpanKind.PRODUCER)[0]!;
  return { traceId: producer.spanContext().traceId, producer: producer.spanContext().spanId, id };
}

interface Sent {
  traceId: string;
  producer: string;
  /** The id `publish` returned. */
  id: string;
}

function expectOneTrace(topic: string, sent: Sent, count: number): void {
  const consumers = spansOf(topic, SpanKind.CONSUMER);
  expect(consumers).toHaveLength(count);
  for (const c of consumers) {
    expect(c.spanContext().traceId).toBe(sent.traceId);
    expect(parentOf(c)).toBe(sent.producer);
    expect(c.attributes['messaging.message.id']).toBe(sent.id);
  }
  expect(consumers.map((c) => c.attributes['scaleout.messaging.delivery_count'])).toEqual(
    Array.from({ length: count }, (_, i) => i + 1),
  );
}

describe('Redis Streams: one trace across the queue', () => {
  const adapter = (prefix: string): QueueAdapter =>
    redisStreamsQueueAdapter({
      connection: { host: '127.0.0.1', port: server.port },
      prefix,
      claimIdleMs: 200,
      sweepIntervalMs: 50,
      blockMs: 50,
    });

  it('through a retry copy', async () => {
    const queue = new MessageQueue({ ...fast, adapter: adapter(uniquePrefix('otel-retry')) });
    let calls = 0;
    await queue.consume('t', () => {
      if (++calls === 1) throw new Error('flaky');
    });
    const sent = await publishInRequest(queue, 't');
    await until('two deliveries', () => spansOf('t', SpanKind.CONSUMER).length === 2);
    await queue.close();
    expectOneTrace('t', sent, 2);
    expect(spansOf('t', SpanKind.PRODUCER)[0]!.attributes['messaging.system']).toBe('redis');
  });

  it('through a reclaim of a message whose consumer died', async () => {
    const prefix = uniquePrefix('otel-reclaim');
    const first = new MessageQueue({ ...fast, adapter: adapter(prefix), closeTimeoutMs: 0 });
    let held = 0;
    await first.consume('r', () => {
      held++;
      return new Promise(() => {}); // never settles: the consumer "dies" holding it
    });
    const sent = await publishInRequest(first, 'r');
    await until('the first delivery', () => held === 1);
    const second = new MessageQueue({ ...fast, adapter: adapter(prefix) });
    let reclaimed = 0;
    await second.consume('r', () => void reclaimed++);
    await first.close();
    await until('the reclaim', () => reclaimed === 1);
    await second.close();
    // The dead consumer's span never ended; the reclaimed delivery's did.
    const consumers = spansOf('r', SpanKind.CONSUMER);
    expect(consumers).toHaveLength(1);
    expect(consumers[0]!.spanContext().traceId).toBe(sent.traceId);
    expect(parentOf(consumers[0]!)).toBe(sent.producer);
    expect(consumers[0]!.attributes['scaleout.messaging.delivery_count']).toBe(2);
    expect(consumers[0]!.attributes['messaging.message.id']).toBe(sent.id);
  });
});

/**
 * The default (consumerTrace: 'linked'): a CONSUMER span in a trace of its
 * own, linked to the producer's span; a handler that fails its last
 * delivery is recorded as dead-lettered.
 */
async function expectLinkedAndDeadLettered(adapter: QueueAdapter, topic: string): Promise<void> {
  const queue = new MessageQueue({ adapter, retryBaseMs: 1, retryMaxMs: 2, maxDeliveries: 1 });
  await queue.consume(topic, () => {
    throw new Error('poison');
  });
  const sent = await publishInRequest(queue, topic);
  await until('the dead-lettering', () => spansOf(topic, SpanKind.CONSUMER).length === 1);
  await queue.close();
  await adapter.close();
  const consumer = spansOf(topic, SpanKind.CONSUMER)[0]!;
  expect(parentOf(consumer)).toBeUndefined();
  expect(consumer.spanContext().traceId).not.toBe(sent.traceId);
  expect(consumer.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
    [sent.traceId, sent.producer],
  ]);
  expect(consumer.attributes['messaging.message.id']).toBe(sent.id);
  expect(consumer.attributes['scaleout.outcome']).toBe('dead-letter');
  expect(consumer.events.map((e) => e.name)).toEqual(['dead-letter']);
}

describe('the default linked consumer span and dead-lettering on the real back ends', () => {
  it('Redis Streams', async () => {
    await expectLinkedAndDeadLettered(
      redisStreamsQueueAdapter({
        connection: { host: '127.0.0.1', port: server.port },
        prefix: uniquePrefix('otel-dead'),
        blockMs: 50,
      }),
      'dead-r',
    );
  });

  it('RabbitMQ', async () => {
    const fixture = await connectAmqp();
    const prefix = `${uniqueName('otel-dead')}.`;
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    fixture.track(`${prefix}dead-a`);
    fixture.track(`${prefix}dead-a.dead`);
    try {
      await expectLinkedAndDeadLettered(amqpQueueAdapter({ url: amqpUrl(), prefix }), 'dead-a');
    } finally {
      await fixture.cleanup();
    }
  });
});

describe('RabbitMQ: one trace across the queue', () => {
  it('through a retry copy and a redelivery', async () => {
    const fixture = await connectAmqp();
    const prefix = `${uniqueName('otel')}.`;
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    fixture.track(`${prefix}amqp-t`);
    fixture.track(`${prefix}amqp-t.dead`);
    try {
      const first = new MessageQueue({
        ...fast,
        closeTimeoutMs: 0,
        adapter: amqpQueueAdapter({ url: amqpUrl(), prefix }),
      });
      let calls = 0;
      await first.consume('amqp-t', () => {
        calls++;
        if (calls === 1) throw new Error('flaky'); // a retry copy
        return new Promise(() => {}); // then held unacknowledged until the consumer closes
      });
      const sent = await publishInRequest(first, 'amqp-t');
      await until('the retry copy is held', () => calls === 2);
      expect(spansOf('amqp-t', SpanKind.PRODUCER)[0]!.attributes['messaging.system']).toBe('rabbitmq');
      await first.close(); // the broker redelivers what it held
      const second = new MessageQueue({ ...fast, adapter: amqpQueueAdapter({ url: amqpUrl(), prefix }) });
      let redelivered = 0;
      await second.consume('amqp-t', () => void redelivered++);
      await until('the redelivery', () => redelivered === 1);
      await second.close();
      const consumers = spansOf('amqp-t', SpanKind.CONSUMER);
      // The failed first delivery and the redelivery (the held one never ended).
      expect(consumers).toHaveLength(2);
      for (const c of consumers) {
        expect(c.spanContext().traceId).toBe(sent.traceId);
        expect(parentOf(c)).toBe(sent.producer);
        expect(c.attributes['messaging.message.id']).toBe(sent.id);
      }
      expect(consumers.map((c) => c.attributes['scaleout.outcome'])).toEqual(['retry', 'ack']);
    } finally {
      await fixture.cleanup();
    }
  });
});
