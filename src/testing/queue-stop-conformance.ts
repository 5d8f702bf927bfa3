import assert from 'node:assert/strict';
import type { QueueDelivery } from '../contracts/queue.js';
import type { QueueConformanceContext } from './queue-foreign-conformance.js';

/**
 * @internal Part of `queueAdapterConformance`: the two-phase stop of an
 * adapter whose subscriptions have `stopDelivering()` (Redis Streams,
 * RabbitMQ; the memory adapter has none and skips it). Once it resolved, no
 * delivery follows, what the group receives next goes to its other
 * consumers without waiting for the stopping one to unsubscribe, and a
 * delivery made before it is still acknowledged (not delivered again).
 */
export function stopDeliveringTests(ctx: QueueConformanceContext): void {
  const { test, open, newTopic, waitFor, settle, timeoutMs } = ctx;

  test.it(
    'stopDelivering(): nothing is delivered after it resolves, the group gets the next messages at once, an earlier delivery still acknowledges',
    async () => {
      const { adapter, queue } = await open();
      const topic = newTopic();
      const first: QueueDelivery[] = [];
      const second: string[] = [];
      const stopping = await adapter.consume(topic, (d) => void first.push(d), {
        group: 'a',
        prefetch: 5,
        deadLetterTopic: undefined,
      });
      if (typeof stopping.stopDelivering !== 'function') {
        await stopping.unsubscribe();
        return;
      }
      try {
        await queue.publish(topic, 'held', { messageId: 'held' });
        await waitFor('the first consumer to get it', () => first.length === 1);
        const other = await adapter.consume(
          topic,
          (d) => {
            second.push(d.id);
            void d.ack();
          },
          { group: 'a', prefetch: 5, deadLetterTopic: undefined },
        );
        try {
          await stopping.stopDelivering();
          const next = ['n1', 'n2', 'n3'];
          for (const id of next) await queue.publish(topic, id, { messageId: id });
          // Well before any redelivery of messages held by a consumer that went away.
          await waitFor(
            'the other consumer to get the next messages',
            () => next.every((id) => second.includes(id)),
            5_000,
          );
          assert.deepEqual(
            first.map((d) => d.id),
            ['held'],
          );
          await first[0]!.ack();
          await stopping.unsubscribe();
          await settle(300);
          assert.deepEqual([...second].sort(), next);
        } finally {
          await other.unsubscribe();
        }
      } finally {
        await stopping.unsubscribe();
      }
    },
    timeoutMs,
  );
}
