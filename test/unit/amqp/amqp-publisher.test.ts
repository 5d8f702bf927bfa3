import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { AmqpConnection } from '../../../src/adapters/amqp/amqp-connection.js';
import { AmqpPublisher } from '../../../src/adapters/amqp/amqp-publisher.js';
import type { AmqpTopology } from '../../../src/adapters/amqp/amqp-topology.js';
import { amqpQueueAdapter } from '../../../src/adapters/amqp/index.js';
import { PublishRejectedError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';

/** A confirm channel that nacks `nacks` publishes, then acks; `onPublish` runs on each. */
function nackingChannel(nacks: number, onPublish: () => void) {
  let publishes = 0;
  const channel = {
    publish(_ex: string, _key: string, _content: Buffer, _props: unknown, cb: (err: unknown) => void) {
      publishes++;
      onPublish();
      const nack = publishes <= nacks;
      queueMicrotask(() => cb(nack ? new Error('message nacked') : null));
      return true;
    },
    close: async () => {},
  };
  return { channel: channel as unknown as ConfirmChannel, publishes: () => publishes };
}

describe('AmqpPublisher.republish', () => {
  it('gives up after nacks once publishTimeoutMs has passed on the given clock', async () => {
    const clock = fakeClock();
    const publishTimeoutMs = 1_000;
    // Each nacked publish takes (on the fake clock) more than the whole deadline.
    const { channel, publishes } = nackingChannel(3, () => clock.advance(publishTimeoutMs + 1));
    const session = { pub: channel, model: {} as ChannelModel, where: 'amqp://127.0.0.1', alive: true };
    const connection = { publisher: async () => session, where: session.where } as unknown as AmqpConnection;
    const publisher = new AmqpPublisher({
      connection,
      topology: {} as AmqpTopology,
      backoff: () => 0,
      maxBuffered: 10,
      publishTimeoutMs,
      logger: undefined,
      clock,
      onQueueGone: () => {},
    });
    const msg = { content: Buffer.from('x'), fields: {}, properties: {} } as unknown as ConsumeMessage;
    await expect(
      publisher.republish(msg, 'ex', 'key', { messageId: 'm1' }, async () => {}),
    ).rejects.toBeInstanceOf(PublishRejectedError);
    expect(publishes()).toBe(1);
  });
});

describe('amqpQueueAdapter({ clock })', () => {
  it('refuses a clock without now() and monotonic()', () => {
    expect(() => amqpQueueAdapter({ url: 'amqp://127.0.0.1', clock: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'clock' }),
    );
  });
});
