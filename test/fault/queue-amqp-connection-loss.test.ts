import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { MessageQueue } from '../../src/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { sleep, until } from '../helpers/wait.js';

const prefix = 'scaleout-test.';
describe('RabbitMQ connection and topology loss (shared broker)', () => {
  it('never acknowledges a delivery tag of a dead channel: the message comes back and is acked once', async () => {
    const broker = new URL(amqpUrl());
    const proxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    const fixture = await connectAmqp();
    const topic = uniqueName('reset');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    const warnings: string[] = [];
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${proxy.port}`,
        prefix,
        reconnectBaseMs: 20,
        reconnectMaxMs: 200,
        logger: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) },
      }),
    );
    const queue = new MessageQueue({ adapter });
    try {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const deliveries: number[] = [];
      await queue.consume(
        topic,
        async (_m, ctx) => {
          deliveries.push(ctx.deliveryCount);
          if (ctx.deliveryCount === 1) await gate; // in flight while the connection dies
        },
        { prefetch: 1 },
      );
      await queue.publish(topic, { orderId: 1 });
      await until('the first delivery', () => deliveries.length === 1);
      proxy.setMode({ kind: 'reset' });
      await until('the loss to be seen', () => !adapter.connected);
      proxy.setMode({ kind: 'pass' });
      await until('the redelivery on the new connection', () => deliveries.length === 2);
      release(); // the first handler finishes now: its tag belongs to the dead channel
      await sleep(500);
      expect(deliveries).toEqual([1, 2]);
      expect(adapter.reconnects).toBeGreaterThanOrEqual(1);
      // Acking a stale tag on the new channel would close it with PRECONDITION_FAILED.
      expect(warnings.filter((w) => w.includes('channel error'))).toEqual([]);
      const ch = await fixture.connection.createChannel();
      const { messageCount } = await ch.checkQueue(`${prefix}${topic}`);
      await ch.close();
      expect(messageCount).toBe(0);
    } finally {
      await queue.close();
      await proxy.close();
      await fixture.cleanup();
    }
  }, 60_000);

  it('a handler that fails after its channel died copies nothing: the message is retried and dead-lettered once', async () => {
    const broker = new URL(amqpUrl());
    const proxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    const fixture = await connectAmqp();
    const topic = uniqueName('stale-retry');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${proxy.port}`,
        prefix,
        reconnectBaseMs: 20,
        reconnectMaxMs: 200,
      }),
    );
    const queue = new MessageQueue({ adapter, retryBaseMs: 5, retryMaxMs: 10 });
    try {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const deliveries: number[] = [];
      const dead: number[] = [];
      const errors: string[] = [];
      queue.on('error', (e) => errors.push((e.error as Error).name));
      await queue.consumeDeadLetters(topic, (d) => void dead.push(d.deliveries));
      await queue.consume(
        topic,
        async (_m, ctx) => {
          deliveries.push(ctx.deliveryCount);
          if (ctx.deliveryCount === 1) await gate; // in flight while the connection dies
          throw new Error('poison');
        },
        { prefetch: 1, maxDeliveries: 2 },
      );
      await queue.publish(topic, { orderId: 1 });
      await until('the first delivery', () => deliveries.length === 1);
      proxy.setMode({ kind: 'reset' });
      await until('the loss to be seen', () => !adapter.connected);
      proxy.setMode({ kind: 'pass' });
      // Redelivered on the new connection as delivery 2: it fails and is dead-lettered.
      await until('the dead letter', () => dead.length === 1);
      release(); // delivery 1 fails now, on a dead channel: its retry must not copy it
      await until('the stale retry to be refused', () => errors.includes('ConnectionError'));
      await sleep(500);
      expect(deliveries).toEqual([1, 2]);
      expect(dead).toEqual([2]);
    } finally {
      await queue.close();
      await proxy.close();
      await fixture.cleanup();
    }
  }, 60_000);

  it('a queue deleted under a consumer is declared again: no confirmed publish is dropped, consuming resumes', async () => {
    const fixture = await connectAmqp();
    const topic = uniqueName('deleted');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        amqpQueueAdapter({ url: amqpUrl(), prefix, reconnectBaseMs: 20, reconnectMaxMs: 200 }),
      ),
    });
    try {
      const got: number[] = [];
      await queue.consume<number>(topic, (n) => void got.push(n));
      await queue.publish(topic, 1);
      await until('the first message', () => got.length === 1);
      const ch = await fixture.connection.createChannel();
      await ch.deleteQueue(`${prefix}${topic}`);
      await ch.close();
      // Unroutable now: the adapter sees the return, declares the queue and sends it again.
      await queue.publish(topic, 2);
      await until('the second message', () => got.length === 2);
      expect(got).toEqual([1, 2]);
    } finally {
      await queue.close();
      await fixture.cleanup();
    }
  }, 60_000);
});
