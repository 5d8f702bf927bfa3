/**
 * A graceful stop of a RabbitMQ consumer (the real broker, every default of
 * the adapter: quorum queues): the stopping consumer cancels its broker
 * consumer first (`basic.cancel`), so the broker hands it nothing more and
 * sends what comes next to the other consumers of the group at once; what
 * it was handling finishes and is acknowledged before its channel closes;
 * `closeTimeoutMs` bounds the wait. And a consumer the broker cancels (its
 * queue deleted) says so with a typed `error` event and consumes again.
 */
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { isScaleoutError, MessageQueue, type QueueErrorEvent } from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { sleep, until } from '../../helpers/wait.js';

interface Job {
  id: string;
  /** How long its handler takes. */
  ms: number;
}

interface Handled {
  /** When the first handler started, `performance.now()`. */
  atMs: number;
  by: string;
  times: number;
  deliveryCount: number;
}

const fixtures: AmqpFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup().catch(() => {});
});

/** A prefix no one else on the shared broker uses; its queues and exchanges are deleted after the test. */
async function isolated(topic: string) {
  const fixture = await connectAmqp();
  fixtures.push(fixture);
  const prefix = `${uniqueName('i21-stop')}.`;
  fixture.track(`${prefix}${topic}`);
  fixture.track(`${prefix}${topic}.dead`);
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  return { fixture, prefix, queueName: `${prefix}${topic}` };
}

/** Records the start of every handler call, by message id. */
function recorder() {
  const handled = new Map<string, Handled>();
  const publishedAt = new Map<string, number>();
  const finished = new Set<string>();
  const handler =
    (by: string) =>
    async (job: Job, { deliveryCount }: { deliveryCount: number }) => {
      const seen = handled.get(job.id);
      handled.set(job.id, {
        atMs: seen?.atMs ?? performance.now(),
        by: seen?.by ?? by,
        times: (seen?.times ?? 0) + 1,
        deliveryCount,
      });
      await sleep(job.ms);
      finished.add(job.id);
    };
  return { handled, publishedAt, finished, handler };
}

describe('amqpQueueAdapter: a graceful stop', () => {
  it('what the broker would have given a stopping consumer goes to the other consumer at once (well within 2 s), each message handled once', async () => {
    const { prefix } = await isolated('jobs');
    const { handled, publishedAt, handler } = recorder();
    const queue = () =>
      new MessageQueue({ adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })) });
    const a = queue();
    const b = queue();
    const publisher = queue();
    const publish = async (id: string, ms: number) => {
      publishedAt.set(id, performance.now());
      await publisher.publish('jobs', { id, ms } satisfies Job);
    };
    try {
      // A alone, two slots: one busy for 4 s, one for 300 ms.
      const consumerA = await a.consume('jobs', handler('a'), { prefetch: 2 });
      await publish('a-long', 4_000);
      await publish('a-short', 300);
      await until('A to start both', () => handled.has('a-long') && handled.has('a-short'));
      // B joins with room to spare; then A is told to stop while messages flow.
      await b.consume('jobs', handler('b'), { prefetch: 50 });
      const closing = consumerA.close();
      const late = Array.from({ length: 10 }, (_, i) => `m${i}`);
      for (const id of late) {
        await publish(id, 0);
        await sleep(100);
      }
      await until('every late message to start', () => late.every((id) => handled.has(id)), 15_000);
      const waits = late.map((id) => Math.round(handled.get(id)!.atMs - publishedAt.get(id)!));
      // Before the stop cancelled A's broker consumer, the slot a-short freed
      // was filled by the broker with a late message that A held unstarted
      // until a-long ended and its channel closed (~3.5 s).
      expect(Math.max(...waits), `waits: ${waits.join(', ')} ms`).toBeLessThan(2_000);
      await closing;
      // A finished and acknowledged what it had: neither went back to the broker.
      expect(handled.get('a-long')).toMatchObject({ by: 'a', times: 1, deliveryCount: 1 });
      expect(handled.get('a-short')).toMatchObject({ by: 'a', times: 1, deliveryCount: 1 });
      await sleep(300);
      for (const id of late) expect(handled.get(id)!.times, id).toBe(1);
      expect(handled.size).toBe(12);
    } finally {
      await Promise.all([a.close(), b.close(), publisher.close()]);
    }
  });

  it('the consumer is cancelled first, the message in flight is acknowledged next, the channel closed last', async () => {
    const { prefix, fixture, queueName } = await isolated('jobs');
    const { handled, handler } = recorder();
    const ops: string[] = [];
    const adapter = closedAfterTest(amqpQueueAdapter({ connection: () => spiedConnection(ops), prefix }));
    const queue = new MessageQueue({ adapter });
    try {
      const consumer = await queue.consume('jobs', handler('a'), { prefetch: 1 });
      await queue.publish('jobs', { id: 'j1', ms: 400 } satisfies Job);
      await until('the handler to start', () => handled.has('j1'));
      await consumer.close();
      expect(ops).toEqual(['consume', 'cancel', 'ack', 'close']);
      const channel = await fixture.connection.createChannel();
      try {
        expect((await channel.checkQueue(queueName)).messageCount).toBe(0);
      } finally {
        await channel.close();
      }
      expect(handled.get('j1')!.times).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('a stop during a long handler ends at closeTimeoutMs; the message goes back to the broker and the other consumer gets it', async () => {
    const { prefix } = await isolated('jobs');
    const { handled, finished, handler } = recorder();
    const errors: QueueErrorEvent[] = [];
    const queue = () =>
      new MessageQueue({
        adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
        closeTimeoutMs: 300,
      });
    const a = queue();
    const b = queue();
    a.on('error', (e) => errors.push(e));
    const secondCall: Array<{ deliveryCount: number }> = [];
    try {
      const consumerA = await a.consume('jobs', handler('a'), { prefetch: 1 });
      await a.publish('jobs', { id: 'long', ms: 2_500 } satisfies Job);
      await until('A to start it', () => handled.has('long'));
      await b.consume(
        'jobs',
        async (job: Job, context) => {
          if (job.id === 'long') secondCall.push({ deliveryCount: context.deliveryCount });
        },
        { prefetch: 1 },
      );
      const t0 = performance.now();
      await consumerA.close();
      const stopMs = performance.now() - t0;
      // 300 ms and the cancel; generous for a loaded machine, far from the 2.5 s handler.
      expect(stopMs).toBeLessThan(1_500);
      await until('B to get the message back', () => secondCall.length > 0, 10_000);
      expect(secondCall[0]!.deliveryCount).toBe(2);
      // A's handler ends after its channel closed: its late ack is dropped, quietly.
      await until('A to finish its handler', () => finished.has('long'), 10_000);
      await sleep(100);
      expect(handled.get('long')!.times).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('amqpQueueAdapter: a consumer the broker cancels', () => {
  it('its queue deleted under it: an error event with ConsumerCancelledError, then it consumes the queue declared again', async () => {
    const { prefix, fixture, queueName } = await isolated('jobs');
    const { handled, handler } = recorder();
    const errors: QueueErrorEvent[] = [];
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
    });
    queue.on('error', (e) => errors.push(e));
    try {
      await queue.consume('jobs', handler('a'), { prefetch: 1 });
      await queue.publish('jobs', { id: 'before', ms: 0 } satisfies Job);
      await until('the first message', () => handled.has('before'));
      const raw = await fixture.connection.createChannel();
      await raw.deleteQueue(queueName);
      await raw.close();
      await until('the error event', () => errors.length > 0, 5_000);
      expect(errors[0]).toMatchObject({ topic: 'jobs', group: 'default', id: undefined });
      const error = errors[0]!.error;
      expect(isScaleoutError(error, 'ERR_CONSUMER_CANCELLED')).toBe(true);
      expect((error as { queue?: string }).queue).toBe(queueName);
      // It consumes again (the queue declared anew): a message published now is handled.
      await until(
        'the queue to be declared again',
        async () => {
          const ch = await fixture.connection.createChannel();
          ch.on('error', () => {});
          try {
            return (await ch.checkQueue(queueName)).consumerCount === 1;
          } catch {
            return false;
          }
        },
        10_000,
        100,
      );
      await queue.publish('jobs', { id: 'after', ms: 0 } satisfies Job);
      await until('the message published after', () => handled.has('after'), 10_000);
      expect(errors).toHaveLength(1);
    } finally {
      await queue.close();
    }
  });
});

/**
 * A connection whose consumer channel records, in order, the calls that
 * matter to a stop: consume, cancel, ack/nack and close.
 */
async function spiedConnection(ops: string[]): Promise<ChannelModel> {
  const model = await connect(amqpUrl());
  const createChannel = model.createChannel.bind(model);
  model.createChannel = async () => {
    const channel: Channel = await createChannel();
    let consuming = false;
    const wrap = <K extends 'cancel' | 'ack' | 'nack' | 'close'>(name: K) => {
      const original = (channel[name] as (...args: unknown[]) => unknown).bind(channel);
      (channel as unknown as Record<K, unknown>)[name] = (...args: unknown[]) => {
        if (consuming) ops.push(name);
        return original(...args);
      };
    };
    const consume = channel.consume.bind(channel);
    channel.consume = async (...args: Parameters<Channel['consume']>) => {
      consuming = true;
      ops.push('consume');
      return consume(...args);
    };
    for (const name of ['cancel', 'ack', 'nack', 'close'] as const) wrap(name);
    return channel;
  };
  return model;
}
