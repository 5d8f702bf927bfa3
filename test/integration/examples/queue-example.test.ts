import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { amqpUrl, connectAmqp } from '../../helpers/rabbitmq.js';
import { startRedisServer } from '../../helpers/redis-server.js';

function runQueueExample(env: Record<string, string> = {}) {
  const { AMQP_URL: _a, REDIS_URL: _r, ...base } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', 'examples/queue.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...base, ...env },
  });
}

function expectOrderFlow(result: ReturnType<typeof runQueueExample>): void {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('reserved stock for o-1 (delivery 2)');
  expect(result.stdout).toContain('notified customer: o-1 fulfilled');
  expect(result.stdout).toContain('refunded o-3: customer request');
  expect(result.stdout).toContain('dead letter after 3 deliveries: RangeError: order o-2 has no items');
  expect(result.stdout).toContain('done: 3 events handled, 1 dead letter(s)');
}

describe('examples/queue.ts', () => {
  it('runs the order flow on the memory adapter, the poison message ends in the dead letters', () => {
    expectOrderFlow(runQueueExample());
  });

  it('runs the same flow on Redis Streams when REDIS_URL is set', async () => {
    const server = await startRedisServer();
    try {
      expectOrderFlow(runQueueExample({ REDIS_URL: server.url }));
    } finally {
      await server.stop();
    }
  });

  it('runs the same flow on RabbitMQ when AMQP_URL is set', async () => {
    const result = runQueueExample({ AMQP_URL: amqpUrl() });
    // The example names its queues and exchanges after its pid: remove them from the shared broker.
    const amqp = await connectAmqp();
    const prefix = `example-${result.pid}.`;
    for (const topic of ['order.created', 'order.fulfilled', 'order.cancelled']) {
      for (const q of [topic, `${topic}.dead`]) amqp.track(`${prefix}${q}`);
    }
    for (const x of ['scaleout.topics', 'scaleout.dead-letter']) amqp.track(`${prefix}${x}`, 'exchange');
    await amqp.cleanup();
    expectOrderFlow(result);
  });
});
