import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { InvalidOptionsError, isScaleoutError, MessageQueue } from '../../../src/index.js';
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
    const adapter = amqpQueueAdapter({
      url: `amqp://admin:hunter2@127.0.0.1:${port}`,
      maxBufferedPublishes: 2,
      publishTimeoutMs: 500,
      reconnectBaseMs: 10,
      reconnectMaxMs: 50,
      logger: { warn: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`) },
    });
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
      const queue = new MessageQueue({ adapter: amqpQueueAdapter({ connection }) });
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
      const queue = new MessageQueue({ adapter: amqpQueueAdapter({ url: amqpUrl(), prefix }) });
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
