import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { queueAdapterConformance } from '../../src/testing.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';

const prefix = 'scaleout-test.';
const topics: string[] = [];

afterAll(async () => {
  const fixture = await connectAmqp();
  for (const t of topics) {
    for (const q of [t, `${t}.dead`, `${t}/a`, `${t}/b`]) fixture.track(`${prefix}${q}`);
  }
  await fixture.cleanup();
});

const topic = () => {
  const t = uniqueName('queue');
  topics.push(t);
  return t;
};

// Quorum queues are the default; classic queues stay supported.
for (const queueType of ['quorum', 'classic'] as const) {
  queueAdapterConformance({
    name: `amqp (RabbitMQ, ${queueType} queues)`,
    test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
    create: () => amqpQueueAdapter({ url: amqpUrl(), prefix, queueType }),
    topic,
  });
}
