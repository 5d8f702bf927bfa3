import { connect, type Options } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import {
  InvalidOptionsError,
  isScaleoutError,
  MessageQueue,
  QueueMismatchError,
} from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { freePort } from '../../helpers/ports.js';
import { amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';

describe('amqpQueueAdapter', () => {
  it('validates its options and never echoes a password', () => {
    expect(() => amqpQueueAdapter({})).toThrow(InvalidOptionsError);
    expect(() => amqpQueueAdapter({ url: 'http://u:hunter2@x' })).toThrow(/^(?!.*hunter2)/);
    expect(() => amqpQueueAdapter({ url: 'amqp://x', maxBufferedPublishes: -1 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => amqpQueueAdapter({ url: 'amqp://x', reconnectBaseMs: 100, reconnectMaxMs: 10 })).toThrow(
      InvalidOptionsError,
    );
  });

  it('while the broker is unreachable: waits in a bounded buffer, refuses past it, times out, redacts the URL', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        url: `amqp://admin:hunter2@127.0.0.1:${port}`,
        maxBufferedPublishes: 2,
        publishTimeoutMs: 500,
        reconnectBaseMs: 10,
        reconnectMaxMs: 50,
        logger: { warn: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`) },
      }),
    );
    const queue = new MessageQueue({ adapter });
    const a = queue.publish('t', 1);
    const b = queue.publish('t', 2);
    await expect(queue.publish('t', 3)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_QUEUE_BUFFER_FULL'));
    for (const p of [a, b]) {
      const err = await p.catch((e: unknown) => e);
      expect(isScaleoutError(err, 'ERR_TIMEOUT')).toBe(true);
      expect(String((err as Error).message)).not.toContain('hunter2');
      expect(String((err as Error).message)).toContain('***@127.0.0.1');
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain('hunter2');
    await queue.close();
  });

  it('uses a connection it is given, and leaves it open on close()', async () => {
    const connection = await connect(amqpUrl());
    const fixture = await connectAmqp();
    const topic = uniqueName('given');
    fixture.track(topic);
    try {
      const queue = new MessageQueue({ adapter: closedAfterTest(amqpQueueAdapter({ connection })) });
      const got: unknown[] = [];
      await queue.consume(topic, (m) => void got.push(m), { deadLetter: false });
      await queue.publish(topic, { ok: 1 });
      for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(got).toEqual([{ ok: 1 }]);
      await queue.close();
      const ch = await connection.createChannel(); // still open
      await ch.close();
    } finally {
      await connection.close();
      await fixture.cleanup();
    }
  });

  it('declares durable queues whose broker-side rejects go through the dead-letter exchange', async () => {
    const fixture = await connectAmqp();
    const prefix = 'scaleout-test.';
    const topic = uniqueName('durable');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    try {
      const queue = new MessageQueue({
        adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
      });
      const dead: Array<{ body: string; reason: string }> = [];
      // A consumer of the topic binds <topic>.dead to the dead-letter exchange (a durable binding).
      await (await queue.consume(topic, () => {})).close();
      await queue.consumeDeadLetters(topic, (d) => void dead.push({ body: d.body, reason: d.reason }));
      await queue.publish(topic, { n: 1 });
      const ch = await fixture.connection.createChannel();
      const msg = await ch.get(`${prefix}${topic}`);
      expect(msg).not.toBe(false);
      if (msg !== false) {
        expect(msg.properties.deliveryMode).toBe(2);
        expect(msg.properties.messageId).toMatch(/^[0-9a-f-]{36}$/);
        ch.nack(msg, false, false); // rejected by someone else: the broker dead-letters it
      }
      await ch.close();
      for (let i = 0; i < 200 && dead.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(dead).toEqual([{ body: '{"n":1}', reason: 'unknown' }]);
      await queue.close();
    } finally {
      await fixture.cleanup();
    }
  });
});

/** A prefix no one else on the shared broker uses, with cleanup of what it names. */
async function isolated() {
  const fixture = await connectAmqp();
  const prefix = `${uniqueName('i16-queue')}.`;
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  return { fixture, prefix };
}

const poll = async (check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
};

describe('amqpQueueAdapter and queues declared by other code', () => {
  const declarations: Array<{ label: string; options: Options.AssertQueue; argument: string }> = [
    {
      label: "the design's assertQueue (durable, no arguments)",
      options: { durable: true },
      argument: 'x-dead-letter-exchange',
    },
    {
      label: 'another dead-letter exchange',
      options: { durable: true, arguments: { 'x-dead-letter-exchange': 'elsewhere' } },
      argument: 'x-dead-letter-exchange',
    },
    {
      label: 'a quorum queue',
      options: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
      argument: 'x-dead-letter-exchange',
    },
  ];
  for (const { label, options, argument } of declarations) {
    it(`${label}: QueueMismatchError naming the queue, the argument and the option; adopted, it works`, async () => {
      const { fixture, prefix } = await isolated();
      const name = fixture.track(`${prefix}order.created`);
      fixture.track(`${prefix}order.created.dead`);
      const raw = await fixture.connection.createChannel();
      await raw.assertQueue(name, options);
      const strict = new MessageQueue({
        adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, publishTimeoutMs: 3_000 })),
      });
      const adopting = new MessageQueue({
        adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, adoptExistingQueues: true })),
        retryBaseMs: 5,
        retryMaxMs: 10,
      });
      try {
        for (const attempt of [
          () => strict.publish('order.created', { id: 1 }),
          () => strict.consume('order.created', () => {}),
        ]) {
          const err = await attempt().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(QueueMismatchError);
          expect((err as QueueMismatchError).queue).toBe(name);
          expect((err as Error).message).toContain(argument);
          expect((err as Error).message).toContain('adoptExistingQueues: true');
        }
        // Adopted as declared: consumed, retried, dead-lettered; the design's raw messages too.
        const got: Array<{ value: unknown; id: string; n: number }> = [];
        const dead: string[] = [];
        await adopting.consumeDeadLetters('order.created', (d) => void dead.push(d.body));
        await adopting.consume(
          'order.created',
          (value, ctx) => {
            got.push({ value, id: ctx.id, n: ctx.deliveryCount });
            if ((value as { fail?: string }).fail === 'always') throw new Error('poison');
            if (ctx.deliveryCount === 1 && (value as { fail?: string }).fail === 'once')
              throw new Error('transient');
          },
          { maxDeliveries: 2 },
        );
        await adopting.publish('order.created', { id: 1, fail: 'once' });
        raw.sendToQueue(name, Buffer.from(JSON.stringify({ id: 2 })), { persistent: true });
        await adopting.publish('order.created', { id: 3, fail: 'always' });
        await poll(() => got.length === 5 && dead.length === 1);
        expect(got.filter((g) => (g.value as { id: number }).id === 1).map((g) => g.n)).toEqual([1, 2]);
        expect(got.filter((g) => (g.value as { id: number }).id === 2)).toHaveLength(1);
        expect(dead).toEqual(['{"id":3,"fail":"always"}']);
        // The queue was used as it is, not redeclared.
        expect((await raw.checkQueue(name)).queue).toBe(name);
      } finally {
        await strict.close();
        await adopting.close();
        await raw.close().catch(() => {});
        await fixture.cleanup();
      }
    }, 30_000);
  }
});

describe('amqpQueueAdapter and messages published by other code', () => {
  it('gives a message without message_id a stable, unique id (identical raw messages stay two)', async () => {
    const { fixture, prefix } = await isolated();
    const name = fixture.track(`${prefix}order.created`);
    fixture.track(`${prefix}order.created.dead`);
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
      retryBaseMs: 5,
      retryMaxMs: 10,
    });
    const raw = await fixture.connection.createChannel();
    try {
      const got: Array<{ id: string; n: number }> = [];
      let failed = false;
      await queue.consume('order.created', (_v, ctx) => {
        got.push({ id: ctx.id, n: ctx.deliveryCount });
        if (!failed) {
          failed = true;
          throw new Error('once');
        }
      });
      // The design's producer: no message_id, no content type; twice the same bytes.
      raw.sendToQueue(name, Buffer.from('{"id":7}'), { persistent: true });
      raw.sendToQueue(name, Buffer.from('{"id":7}'), { persistent: true });
      await poll(() => got.length === 3);
      const ids = new Set(got.map((g) => g.id));
      expect(ids.size).toBe(2);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      // The failed one came back with the same id and a higher count.
      const retried = got.filter((g) => g.id === got[0]!.id).map((g) => g.n);
      expect(retried).toEqual([1, 2]);
    } finally {
      await queue.close();
      await raw.close().catch(() => {});
      await fixture.cleanup();
    }
  }, 30_000);
});

describe('amqpQueueAdapter: a consume() that failed', () => {
  it('is not started by a later reconnect: no handler runs for a consumer the caller never got', async () => {
    const { fixture, prefix } = await isolated();
    const name = fixture.track(`${prefix}jobs`);
    fixture.track(`${prefix}jobs.dead`);
    const raw = await fixture.connection.createChannel();
    // A classic queue where the adapter declares a quorum one: consume() fails.
    await raw.assertQueue(name, { durable: true });
    const models: import('amqplib').ChannelModel[] = [];
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        connection: async () => {
          const model = await connect(amqpUrl());
          models.push(model);
          return model;
        },
        prefix,
        reconnectBaseMs: 10,
        reconnectMaxMs: 50,
      }),
    );
    const queue = new MessageQueue({ adapter });
    const handled: unknown[] = [];
    try {
      const err = await queue.consume('jobs', (m) => void handled.push(m)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueMismatchError);
      // The mismatch goes away, then the connection is lost and comes back.
      await raw.deleteQueue(name);
      await models[0]!.close();
      await poll(() => models.length === 2 && adapter.connected);
      await queue.publish('jobs', { n: 1 });
      await new Promise((r) => setTimeout(r, 1_000));
      // Before, the failed consumer stayed registered: the reconnect started
      // it, and it handed the message to the handler of that failed call.
      expect(handled).toEqual([]);
      expect((await raw.checkQueue(name)).consumerCount).toBe(0);
    } finally {
      await queue.close();
      await raw.close().catch(() => {});
      await fixture.cleanup();
    }
  }, 30_000);
});
