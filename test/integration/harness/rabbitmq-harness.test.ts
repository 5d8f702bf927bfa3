import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AmqpFixture, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';

describe('real RabbitMQ harness', () => {
  let amqp: AmqpFixture;

  beforeEach(async () => {
    amqp = await connectAmqp();
  });
  afterEach(async () => {
    await amqp.cleanup();
  });

  it('round-trips a persistent message through a durable queue with publisher confirms', async () => {
    const queue = amqp.track(uniqueName('harness'));
    const channel = await amqp.connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    const body = Buffer.from(JSON.stringify({ orderId: 'o-1', total: 42 }));
    await new Promise<void>((resolve, reject) =>
      channel.sendToQueue(queue, body, { persistent: true, messageId: 'm-1' }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await channel.waitForConfirms();

    const received = await new Promise<{ content: Buffer; messageId: unknown; redelivered: boolean }>(
      (resolve) => {
        void channel.consume(queue, (msg) => {
          if (msg === null) return;
          channel.ack(msg);
          resolve({
            content: msg.content,
            messageId: msg.properties.messageId,
            redelivered: msg.fields.redelivered,
          });
        });
      },
    );
    expect(JSON.parse(received.content.toString())).toEqual({ orderId: 'o-1', total: 42 });
    expect(received.messageId).toBe('m-1');
    expect(received.redelivered).toBe(false);
    const { messageCount } = await channel.checkQueue(queue);
    expect(messageCount).toBe(0);
    await channel.close();
  });

  it('gives each test its own queue names', () => {
    expect(uniqueName('a')).not.toBe(uniqueName('a'));
  });
});
