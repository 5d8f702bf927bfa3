import { describe, expectTypeOf, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import {
  type ConsumerCancelledError,
  type ConsumerStopOptions,
  type DeadLetter,
  type MessageConsumer,
  type MessageContext,
  MessageQueue,
  memoryQueueAdapter,
  type QueueAdapter,
  type QueueErrorEvent,
} from '../../src/index.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';

interface Order {
  orderId: number;
}

describe('MessageQueue types', () => {
  it('types the handler payload from the type argument and returns the message id', () => {
    const queue = new MessageQueue();
    expectTypeOf(queue.publish('order.created', { orderId: 1 })).toEqualTypeOf<Promise<string>>();
    expectTypeOf(
      queue.consume<Order>('order.created', (order, ctx) => {
        expectTypeOf(order).toEqualTypeOf<Order>();
        expectTypeOf(ctx).toEqualTypeOf<MessageContext>();
        expectTypeOf(ctx.deliveryCount).toBeNumber();
      }),
    ).toEqualTypeOf<Promise<MessageConsumer>>();
    queue.consumeDeadLetters('order.created', (dead) => {
      expectTypeOf(dead).toEqualTypeOf<DeadLetter>();
      expectTypeOf(dead.reason).toEqualTypeOf<'handler-error' | 'unparseable' | 'unknown'>();
    });
  });

  it('accepts only string headers and a string-or-false dead-letter topic', () => {
    const queue = new MessageQueue();
    // @ts-expect-error header values are strings
    queue.publish('t', 1, { headers: { n: 1 } });
    // @ts-expect-error deadLetter is a topic name or false
    queue.consume('t', () => {}, { deadLetter: true });
    queue.consume('t', () => {}, { deadLetter: false, group: 'g', prefetch: 1, maxDeliveries: 2 });
  });

  it("a consumer's stop takes an optional { signal }; a broker cancel is typed by its code", async () => {
    const consumer = await new MessageQueue().consume('t', () => {});
    expectTypeOf(consumer.close).parameter(0).toEqualTypeOf<ConsumerStopOptions | undefined>();
    expectTypeOf(consumer.unsubscribe).parameter(0).toEqualTypeOf<ConsumerStopOptions | undefined>();
    consumer.close({ signal: AbortSignal.timeout(1_000) });
    // @ts-expect-error the deadline is a signal, not a number of ms
    consumer.close({ timeoutMs: 1_000 });
    expectTypeOf<ConsumerCancelledError['code']>().toEqualTypeOf<'ERR_CONSUMER_CANCELLED'>();
    expectTypeOf<ConsumerCancelledError['queue']>().toBeString();
  });

  it('every adapter factory returns a QueueAdapter', () => {
    expectTypeOf(memoryQueueAdapter()).toExtend<QueueAdapter>();
    expectTypeOf(amqpQueueAdapter).returns.toExtend<QueueAdapter>();
    expectTypeOf(redisStreamsQueueAdapter).returns.toExtend<QueueAdapter>();
  });

  it('types the new options and the error event of a failure that is not about one message', () => {
    new MessageQueue({ maxMessageBytes: 2 * 1024 * 1024 });
    amqpQueueAdapter({ url: 'amqp://localhost', adoptExistingQueues: true });
    // @ts-expect-error unknown keys are refused at compile time too
    new MessageQueue({ maxRetries: 3 });
    // @ts-expect-error the adapter option is adoptExistingQueues
    amqpQueueAdapter({ url: 'amqp://localhost', adoptExisting: true });
    // @ts-expect-error memoryQueueAdapter takes no options
    memoryQueueAdapter({ prefix: 'x' });
    expectTypeOf<QueueErrorEvent['id']>().toEqualTypeOf<string | undefined>();
    const queue = new MessageQueue();
    const listener = (e: QueueErrorEvent) => void e.topic;
    queue.on('error', listener);
    queue.off('error', listener);
  });
});
