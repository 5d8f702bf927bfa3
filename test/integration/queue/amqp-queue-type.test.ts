/**
 * Queue types on the shared RabbitMQ (one node): what scaleout declares for
 * `quorum` (the default) and `classic`, what an upgrade meets when a queue
 * exists with the other type, and delivery counting on quorum queues (the
 * broker's `x-delivery-count`, its delivery limit) next to classic queues.
 */
import type { Options } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { type AmqpQueueAdapterOptions, amqpQueueAdapter } from '../../../src/amqp.js';
import {
  type DeadLetter,
  MessageQueue,
  type QueueAdapter,
  type QueueDelivery,
  QueueMismatchError,
} from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { until } from '../../helpers/wait.js';

/** A prefix no one else on the shared broker uses, with cleanup of what it names. */
async function isolated(topics: string[]) {
  const fixture = await connectAmqp();
  const prefix = `${uniqueName('i22-type')}.`;
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  for (const t of topics) {
    fixture.track(`${prefix}${t}`);
    fixture.track(`${prefix}${t}.dead`);
  }
  return { fixture, prefix };
}

/** Whether the queue exists exactly as `options` declare it (a 406 otherwise). */
async function declaredAs(
  fixture: Awaited<ReturnType<typeof connectAmqp>>,
  name: string,
  options: Options.AssertQueue,
) {
  const ch = await fixture.connection.createChannel();
  ch.on('error', () => {});
  try {
    await ch.assertQueue(name, options);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

const classicArgs = (prefix: string, name: string): Options.AssertQueue => ({
  durable: true,
  arguments: {
    'x-dead-letter-exchange': `${prefix}scaleout.dead-letter`,
    'x-dead-letter-routing-key': name,
  },
});
const quorumArgs = (prefix: string, name: string, limit = 20): Options.AssertQueue => ({
  durable: true,
  arguments: {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': `${prefix}scaleout.dead-letter`,
    'x-dead-letter-routing-key': name,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
    'x-delivery-limit': limit,
  },
});

/** Receives raw deliveries (nothing settles them unless the test does). */
function collector() {
  const got: QueueDelivery[] = [];
  return { got, onDelivery: (d: QueueDelivery) => void got.push(d) };
}

const consumeOptions = { group: 'default', prefetch: 1, deadLetterTopic: undefined };

describe('amqpQueueAdapter queue types', () => {
  it('declares quorum queues by default (at-least-once dead-lettering, a delivery limit) and classic ones on request', async () => {
    const { fixture, prefix } = await isolated(['q', 'c']);
    const quorum = amqpQueueAdapter({ url: amqpUrl(), prefix });
    const classic = amqpQueueAdapter({ url: amqpUrl(), prefix, queueType: 'classic' });
    try {
      const message = { id: 'm', body: '1', headers: {}, persistent: true, timestamp: Date.now() };
      await quorum.publish('q', message);
      await classic.publish('c', message);
      expect(await declaredAs(fixture, `${prefix}q`, quorumArgs(prefix, `${prefix}q`))).toBe(true);
      expect(await declaredAs(fixture, `${prefix}q`, classicArgs(prefix, `${prefix}q`))).toBe(false);
      expect(await declaredAs(fixture, `${prefix}c`, classicArgs(prefix, `${prefix}c`))).toBe(true);
      expect(await declaredAs(fixture, `${prefix}c`, quorumArgs(prefix, `${prefix}c`))).toBe(false);
    } finally {
      await quorum.close();
      await classic.close();
      await fixture.cleanup();
    }
  });

  it('an upgrade that meets classic queues of an earlier version fails loudly, naming both fixes; classic or adopted, it works', async () => {
    const { fixture, prefix } = await isolated(['order.created']);
    const name = `${prefix}order.created`;
    // What scaleout declared before queue types existed.
    await declaredAs(fixture, name, classicArgs(prefix, name));
    const upgraded = amqpQueueAdapter({ url: amqpUrl(), prefix, publishTimeoutMs: 3_000 });
    const kept = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, queueType: 'classic' })),
    });
    const adopted = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, adoptExistingQueues: true })),
    });
    try {
      for (const attempt of [
        () =>
          upgraded.publish('order.created', {
            id: 'x',
            body: '1',
            headers: {},
            persistent: true,
            timestamp: 1,
          }),
        () => upgraded.consume('order.created', () => {}, consumeOptions),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QueueMismatchError);
        expect((err as QueueMismatchError).queue).toBe(name);
        expect((err as Error).message).toMatch(/classic queue/);
        expect((err as Error).message).toContain('queueType: "classic"');
        expect((err as Error).message).toContain('adoptExistingQueues: true');
      }
      for (const queue of [kept, adopted]) {
        const got: number[] = [];
        const consumer = await queue.consume<number>('order.created', (n) => void got.push(n));
        await queue.publish('order.created', 7);
        await until('the message', () => got.length === 1);
        await consumer.close();
      }
      // Still the classic queue it was.
      expect(await declaredAs(fixture, name, classicArgs(prefix, name))).toBe(true);
    } finally {
      await upgraded.close();
      await kept.close();
      await adopted.close();
      await fixture.cleanup();
    }
  }, 30_000);

  it('a quorum queue met by a classic adapter, and another delivery limit: QueueMismatchError naming the argument', async () => {
    const { fixture, prefix } = await isolated(['t']);
    const first = amqpQueueAdapter({ url: amqpUrl(), prefix, deliveryLimit: 3 });
    const classic = amqpQueueAdapter({ url: amqpUrl(), prefix, queueType: 'classic' });
    const otherLimit = amqpQueueAdapter({ url: amqpUrl(), prefix, deliveryLimit: 4 });
    try {
      const sub = await first.consume('t', () => {}, consumeOptions);
      await sub.unsubscribe();
      const err = await classic.consume('t', () => {}, consumeOptions).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueMismatchError);
      expect((err as Error).message).toMatch(/is a quorum queue/);
      const limit = await otherLimit.consume('t', () => {}, consumeOptions).catch((e: unknown) => e);
      expect(limit).toBeInstanceOf(QueueMismatchError);
      expect((limit as Error).message).toContain("x-delivery-limit: scaleout declares '4'");
    } finally {
      await first.close();
      await classic.close();
      await otherLimit.close();
      await fixture.cleanup();
    }
  });
});

describe('delivery counts: the broker’s on quorum queues, a flag on classic ones', () => {
  /** Delivers one message, returns it unsettled twice (subscription closed), and reports the counts seen. */
  async function countsAfterTwoReturns(options: Partial<AmqpQueueAdapterOptions>) {
    const { fixture, prefix } = await isolated(['t']);
    const adapter: QueueAdapter = closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, ...options }));
    const counts: number[] = [];
    try {
      // A forged count from a publisher is not the broker's.
      await adapter.publish('t', {
        id: 'm-1',
        body: '{}',
        headers: { 'x-delivery-count': '50' },
        persistent: true,
        timestamp: Date.now(),
      });
      for (let i = 0; i < 3; i++) {
        const c = collector();
        const sub = await adapter.consume('t', c.onDelivery, consumeOptions);
        await until('a delivery', () => c.got.length === 1);
        counts.push(c.got[0]!.deliveryCount);
        if (i === 2) await c.got[0]!.ack();
        await sub.unsubscribe(); // unsettled: the broker takes it back
      }
    } finally {
      await adapter.close();
      await fixture.cleanup();
    }
    return counts;
  }

  it('quorum: every return counts (x-delivery-count), a forged header does not', async () => {
    expect(await countsAfterTwoReturns({})).toEqual([1, 2, 3]);
  });

  it('classic: a redelivery counts once however many times it happened (the queue only flags it)', async () => {
    expect(await countsAfterTwoReturns({ queueType: 'classic' })).toEqual([1, 2, 2]);
  });

  it('quorum: past deliveryLimit returns the broker dead-letters the message itself, and says why', async () => {
    const { fixture, prefix } = await isolated(['t']);
    const adapter = closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, deliveryLimit: 2 }));
    const queue = new MessageQueue({ adapter });
    try {
      const dead: DeadLetter[] = [];
      await queue.consumeDeadLetters('t', (d) => void dead.push(d));
      const id = await queue.publish('t', { crashes: 'its consumer' });
      // A consumer that dies holding it, three times (the limit allows two returns).
      for (let i = 0; i < 3; i++) {
        const c = collector();
        const sub = await adapter.consume('t', c.onDelivery, {
          ...consumeOptions,
          deadLetterTopic: 't.dead',
        });
        await until('a delivery', () => c.got.length === 1);
        expect(c.got[0]!.deliveryCount).toBe(i + 1);
        await sub.unsubscribe();
      }
      await until('the dead letter', () => dead.length === 1);
      expect(dead[0]).toMatchObject({
        id,
        reason: 'unknown',
        error: { name: 'RabbitMQ', message: 'dead-lettered by RabbitMQ (delivery_limit)' },
      });
      expect(JSON.parse(dead[0]!.body)).toEqual({ crashes: 'its consumer' });
    } finally {
      await queue.close();
      await fixture.cleanup();
    }
  });

  it('quorum: retries are scaleout’s copies (failures carried over), a poison message is dead-lettered once with its error', async () => {
    const { fixture, prefix } = await isolated(['t']);
    // A delivery limit of 1 would cut nack-based retries short; copies start their count again.
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, deliveryLimit: 1 })),
      retryBaseMs: 5,
      retryMaxMs: 10,
    });
    try {
      const dead: DeadLetter[] = [];
      const seen: number[] = [];
      await queue.consumeDeadLetters('t', (d) => void dead.push(d));
      await queue.consume(
        't',
        (_v, ctx) => {
          seen.push(ctx.deliveryCount);
          throw new TypeError('poison');
        },
        { maxDeliveries: 4 },
      );
      await queue.publish('t', { n: 1 });
      await until('the dead letter', () => dead.length === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([1, 2, 3, 4]);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ reason: 'handler-error', deliveries: 4, error: { name: 'TypeError' } });
    } finally {
      await queue.close();
      await fixture.cleanup();
    }
  });
});
