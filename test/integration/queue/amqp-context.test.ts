import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { MessageQueue } from '../../../src/index.js';
import { collected, weaklyHeld } from '../../helpers/gc.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';

let fixture: AmqpFixture | undefined;
afterAll(async () => {
  await fixture?.cleanup();
});

describe('amqpQueueAdapter: the connection keeps no request alive', () => {
  it("a connection opened by a request's publish does not retain that request's context", async () => {
    fixture = await connectAmqp();
    const topic = fixture.track(uniqueName('ctx'));
    const als = new AsyncLocalStorage<object>();
    const queue = new MessageQueue({ adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl() })) });
    try {
      // The first publish opens the connection (socket, heartbeats, channels).
      const ref = await weaklyHeld((request) => als.run(request, () => queue.publish(topic, { n: 1 })));
      expect(await collected(ref)).toBe(true);
    } finally {
      await queue.close();
    }
  });
});
