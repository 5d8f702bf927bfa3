/**
 * The RabbitMQ adapter's own `close()` (called directly, without a
 * MessageQueue) stops its consumers cancel-first, as a consumer's graceful
 * stop does: `basic.cancel`, the deliveries it handed out are settled on
 * the open channel (up to `closeTimeoutMs` or the `signal` of
 * `close({ signal })`), then the channels and the connection close. Real
 * broker, classic and quorum queues.
 */
import { type ChannelModel, connect } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { type AmqpQueueAdapterOptions, amqpQueueAdapter } from '../../../src/amqp.js';
import type { QueueDelivery } from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { outgoingMessage } from '../../helpers/queue-message.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { sleep, until } from '../../helpers/wait.js';

const fixtures: AmqpFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup().catch(() => {});
});

const TOPIC = 'jobs';

/** A prefix no one else on the shared broker uses; its queues and exchanges are deleted after the test. */
async function isolated() {
  const fixture = await connectAmqp();
  fixtures.push(fixture);
  const prefix = `${uniqueName('s6-close')}.`;
  fixture.track(`${prefix}${TOPIC}`);
  fixture.track(`${prefix}${TOPIC}.dead`);
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  return { fixture, prefix, queueName: `${prefix}${TOPIC}` };
}

const consumeOptions = (prefetch: number) => ({ group: 'default', prefetch, deadLetterTopic: undefined });

/** The broker's count of ready messages in `queue`. */
async function readyCount(fixture: AmqpFixture, queue: string): Promise<number> {
  const channel = await fixture.connection.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

/**
 * What a new consumer gets from the queue: every message left in it (a
 * requeued one comes before `sentinel`, published last), with its delivery
 * count.
 */
async function drainWithNewConsumer(
  options: AmqpQueueAdapterOptions,
  sentinel: string,
): Promise<Array<{ id: string; deliveryCount: number }>> {
  const adapter = amqpQueueAdapter(options);
  const got: Array<{ id: string; deliveryCount: number }> = [];
  try {
    await adapter.consume(
      TOPIC,
      (d) => {
        got.push({ id: d.id, deliveryCount: d.deliveryCount });
        void d.ack();
      },
      consumeOptions(10),
    );
    await adapter.publish(TOPIC, outgoingMessage(sentinel));
    await until('the sentinel', () => got.some((g) => g.id === sentinel), 10_000);
    return got;
  } finally {
    await adapter.close();
  }
}

for (const queueType of ['classic', 'quorum'] as const) {
  describe(`amqpQueueAdapter.close() (${queueType} queues)`, () => {
    it('the handlers in flight complete and their messages are acknowledged exactly once', async () => {
      const { fixture, prefix, queueName } = await isolated();
      const options = { url: amqpUrl(), prefix, queueType };
      const adapter = closedAfterTest(amqpQueueAdapter(options));
      const acked: string[] = [];
      const started: string[] = [];
      await adapter.consume(
        TOPIC,
        (d) => {
          started.push(d.id);
          void sleep(400)
            .then(() => d.ack())
            .then(() => acked.push(d.id));
        },
        consumeOptions(3),
      );
      for (const id of ['m1', 'm2', 'm3']) await adapter.publish(TOPIC, outgoingMessage(id));
      await until('the three handlers to start', () => started.length === 3);
      await adapter.close();
      expect(acked.sort()).toEqual(['m1', 'm2', 'm3']);
      // Before, close() closed the channel under the handlers: their acks
      // were dropped and the three messages went back to the queue.
      expect(await readyCount(fixture, queueName)).toBe(0);
      const after = await drainWithNewConsumer(options, 'sentinel');
      expect(after).toEqual([{ id: 'sentinel', deliveryCount: 1 }]);
      expect(started.sort()).toEqual(['m1', 'm2', 'm3']);
    });

    it('deliveries held but not started yet are handled, not requeued with a raised delivery count', async () => {
      const { prefix } = await isolated();
      const options = { url: amqpUrl(), prefix, queueType };
      const adapter = closedAfterTest(amqpQueueAdapter(options));
      // A handler of its own concurrency (one at a time): prefetch 5 holds
      // the other four, handed out but not started.
      const waiting: QueueDelivery[] = [];
      const handled: Array<{ id: string; deliveryCount: number }> = [];
      let running = false;
      const next = async (): Promise<void> => {
        if (running) return;
        running = true;
        for (let d = waiting.shift(); d !== undefined; d = waiting.shift()) {
          await sleep(100);
          handled.push({ id: d.id, deliveryCount: d.deliveryCount });
          await d.ack();
        }
        running = false;
      };
      let delivered = 0;
      await adapter.consume(
        TOPIC,
        (d) => {
          delivered++;
          waiting.push(d);
          void next();
        },
        consumeOptions(5),
      );
      const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
      for (const id of ids) await adapter.publish(TOPIC, outgoingMessage(id));
      await until('the five deliveries', () => delivered === 5);
      expect(handled.length).toBeLessThan(5);
      await adapter.close();
      expect(handled.map((h) => h.id).sort()).toEqual(ids);
      expect(handled.every((h) => h.deliveryCount === 1)).toBe(true);
      // Before, the four not started went back when the channel closed and
      // came to the next consumer again (on a quorum queue with
      // x-delivery-count 1: deliveryCount 2).
      const after = await drainWithNewConsumer(options, 'sentinel');
      expect(after).toEqual([{ id: 'sentinel', deliveryCount: 1 }]);
    });

    it('a handler that never ends: close() returns by closeTimeoutMs; the others were acknowledged, that one goes back', async () => {
      const { fixture, prefix, queueName } = await isolated();
      const options = { url: amqpUrl(), prefix, queueType };
      const adapter = closedAfterTest(amqpQueueAdapter({ ...options, closeTimeoutMs: 500 }));
      const started: string[] = [];
      const acked: string[] = [];
      await adapter.consume(
        TOPIC,
        (d) => {
          started.push(d.id);
          if (d.id === 'stuck') return; // never settled
          void sleep(200)
            .then(() => d.ack())
            .then(() => acked.push(d.id));
        },
        consumeOptions(2),
      );
      await adapter.publish(TOPIC, outgoingMessage('stuck'));
      await adapter.publish(TOPIC, outgoingMessage('quick'));
      await until('both to start', () => started.length === 2);
      const t0 = performance.now();
      await adapter.close();
      // 500 ms and the cancel; generous for a loaded machine (a wait without
      // the deadline would never end).
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(acked).toEqual(['quick']);
      expect(await readyCount(fixture, queueName)).toBe(1);
      const after = await drainWithNewConsumer(options, 'sentinel');
      // A quorum queue counts the return (x-delivery-count); a classic one only flags it.
      expect(after).toEqual([
        { id: 'stuck', deliveryCount: 2 },
        { id: 'sentinel', deliveryCount: 1 },
      ]);
    });
  });
}

describe('amqpQueueAdapter.close(): settling on the open channel', () => {
  it('a retry and a dead letter made while close() waits go out (the copy confirmed, the original acknowledged)', async () => {
    const { fixture, prefix, queueName } = await isolated();
    fixture.track(`${prefix}${TOPIC}.dlq`);
    const options = { url: amqpUrl(), prefix };
    const adapter = closedAfterTest(amqpQueueAdapter(options));
    const started: string[] = [];
    const settled: string[] = [];
    const failures: unknown[] = [];
    await adapter.consume(
      TOPIC,
      (d) => {
        started.push(d.id);
        const settle = d.id === 'to-retry' ? () => d.retry() : () => d.deadLetter({ 'x-reason': 'test' });
        void sleep(300)
          .then(settle)
          .then(
            () => settled.push(d.id),
            (err: unknown) => failures.push(err),
          );
      },
      { group: 'default', prefetch: 2, deadLetterTopic: `${TOPIC}.dlq` },
    );
    await adapter.publish(TOPIC, outgoingMessage('to-retry'));
    await adapter.publish(TOPIC, outgoingMessage('to-dead-letter'));
    await until('both to start', () => started.length === 2);
    await adapter.close();
    expect(failures).toEqual([]);
    expect(settled.sort()).toEqual(['to-dead-letter', 'to-retry']);
    // Before, both found their channel closed: ConnectionError, nothing copied, the originals requeued.
    const after = await drainWithNewConsumer(options, 'sentinel');
    // The retry copy (one failure carried), then the sentinel; the dead letter left the queue.
    expect(after).toEqual([
      { id: 'to-retry', deliveryCount: 2 },
      { id: 'sentinel', deliveryCount: 1 },
    ]);
    expect(await readyCount(fixture, `${prefix}${TOPIC}.dlq`)).toBe(1);
    expect(await readyCount(fixture, queueName)).toBe(0);
  });
});

describe('amqpQueueAdapter.close({ signal })', () => {
  it('ends the wait for a handler that never ends when the signal aborts', async () => {
    const { fixture, prefix, queueName } = await isolated();
    const adapter = closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix }));
    const started: string[] = [];
    const acked: string[] = [];
    let releaseQuick!: () => void;
    const quickMayAck = new Promise<void>((resolve) => {
      releaseQuick = resolve;
    });
    await adapter.consume(
      TOPIC,
      (d) => {
        started.push(d.id);
        if (d.id === 'stuck') return;
        void quickMayAck.then(() => d.ack()).then(() => acked.push(d.id));
      },
      consumeOptions(2),
    );
    await adapter.publish(TOPIC, outgoingMessage('stuck'));
    await adapter.publish(TOPIC, outgoingMessage('quick'));
    await until('both to start', () => started.length === 2);
    const t0 = performance.now();
    // closeTimeoutMs is 30 s by default: the signal is the deadline. It
    // aborts once the quick handler (in flight when close() began) acked.
    const controller = new AbortController();
    const closing = adapter.close({ signal: controller.signal });
    releaseQuick();
    await until('the quick handler to ack', () => acked.length === 1);
    controller.abort();
    await closing;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(acked).toEqual(['quick']);
    expect(await readyCount(fixture, queueName)).toBe(1);
    expect(adapter.connectionState).toBe('closed');
  });

  it('a second close() is the same stop; consume() during the stop is refused', async () => {
    const { prefix } = await isolated();
    const adapter = closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix }));
    let release: (() => void) | undefined;
    await adapter.consume(
      TOPIC,
      (d) => {
        release = () => void d.ack();
      },
      consumeOptions(1),
    );
    await adapter.publish(TOPIC, outgoingMessage('m1'));
    await until('the delivery', () => release !== undefined);
    const first = adapter.close();
    const second = adapter.close();
    let done = 0;
    void first.then(() => done++);
    void second.then(() => done++);
    await expect(adapter.consume(TOPIC, () => {}, consumeOptions(1))).rejects.toMatchObject({
      code: 'ERR_CLOSED',
    });
    await sleep(200);
    // Both wait for the handler in flight (before, the second returned at once).
    expect(done).toBe(0);
    release!();
    await Promise.all([first, second]);
    await adapter.close(); // a no-op
    expect(adapter.connectionState).toBe('closed');
  });
});

describe('amqpQueueAdapter.close() during a reconnect', () => {
  it('settles: the consumer lost its channel, nothing is waited for', async () => {
    const { prefix } = await isolated();
    const models: ChannelModel[] = [];
    let refuse = false;
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        connection: async () => {
          if (refuse) throw new Error('broker unreachable (test)');
          const model = await connect(amqpUrl());
          models.push(model);
          return model;
        },
        prefix,
        reconnectBaseMs: 50,
        reconnectMaxMs: 100,
      }),
    );
    let held: QueueDelivery | undefined;
    await adapter.consume(
      TOPIC,
      (d) => {
        held = d; // never settled
      },
      consumeOptions(1),
    );
    await adapter.publish(TOPIC, outgoingMessage('m1'));
    await until('the delivery', () => held !== undefined);
    refuse = true;
    await models[0]!.close();
    await until('the adapter to see the loss', () => adapter.connectionState === 'disconnected');
    const t0 = performance.now();
    await adapter.close();
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(adapter.connectionState).toBe('closed');
    // The delivery's channel is gone: acknowledging it does nothing.
    await held!.ack();
  });
});
