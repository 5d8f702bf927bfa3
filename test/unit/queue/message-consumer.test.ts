import { describe, expect, it } from 'vitest';
import type { QueueAdapter, QueueDelivery } from '../../../src/index.js';
import { MessageQueue } from '../../../src/index.js';

/** A delivery of JSON `body` that records how it was settled. */
function delivery(id: string, settled: string[]): QueueDelivery {
  return {
    id,
    topic: 't',
    body: JSON.stringify(id),
    headers: {},
    deliveryCount: 1,
    publishedAt: undefined,
    ack: async () => void settled.push(`ack ${id}`),
    retry: async () => void settled.push(`retry ${id}`),
    deadLetter: async () => void settled.push(`dead ${id}`),
  };
}

describe('MessageConsumer stop with an adapter that has stopDelivering()', () => {
  it('stops the adapter reading first, handles what it still delivers meanwhile, ignores what comes after, then unsubscribes', async () => {
    const steps: string[] = [];
    const settled: string[] = [];
    let deliver: (d: QueueDelivery) => void = () => {};
    const adapter: QueueAdapter = {
      publish: async () => {},
      close: async () => {},
      consume: async (_topic, onDelivery) => {
        deliver = onDelivery;
        return {
          stopDelivering: async () => {
            steps.push('stopDelivering');
            // The read that was in flight returns one more message.
            await new Promise((r) => setTimeout(r, 5));
            onDelivery(delivery('in-flight-read', settled));
          },
          unsubscribe: async () => void steps.push('unsubscribe'),
        };
      },
    };
    const queue = new MessageQueue({ adapter });
    const handled: string[] = [];
    const consumer = await queue.consume('t', async (id: string) => {
      handled.push(id);
      await new Promise((r) => setTimeout(r, 20));
      steps.push(`handled ${id}`);
    });
    deliver(delivery('first', settled));
    const closing = consumer.close();
    await closing;
    deliver(delivery('after-stop', settled));
    await new Promise((r) => setTimeout(r, 30));
    expect(handled).toEqual(['first', 'in-flight-read']);
    expect(settled.sort()).toEqual(['ack first', 'ack in-flight-read']);
    expect(steps).toEqual(['stopDelivering', 'handled first', 'handled in-flight-read', 'unsubscribe']);
    await queue.close();
  });

  it('without stopDelivering(), a delivery that arrives once the stop began is left unsettled for the back end', async () => {
    const settled: string[] = [];
    let deliver: (d: QueueDelivery) => void = () => {};
    const adapter: QueueAdapter = {
      publish: async () => {},
      close: async () => {},
      consume: async (_topic, onDelivery) => {
        deliver = onDelivery;
        return { unsubscribe: async () => {} };
      },
    };
    const queue = new MessageQueue({ adapter });
    const handled: string[] = [];
    const consumer = await queue.consume('t', async (id: string) => {
      handled.push(id);
      await new Promise((r) => setTimeout(r, 20));
    });
    deliver(delivery('first', settled));
    const closing = consumer.close();
    deliver(delivery('during-stop', settled));
    await closing;
    expect(handled).toEqual(['first']);
    expect(settled).toEqual(['ack first']);
    await queue.close();
  });
});
