/**
 * ServiceLifecycle's stop deadline reaches the queue consumers it manages:
 * a RabbitMQ consumer whose handler outlives the deadline lets go of its
 * message then (its channel closes, the broker hands the message to the
 * group's other consumer), instead of holding it for the consumer's own
 * `closeTimeoutMs` (30 s by default, longer than the lifecycle's 10 s).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { MessageQueue, ServiceLifecycle } from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { until } from '../../helpers/wait.js';

let fixture: AmqpFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('ServiceLifecycle: the stop deadline and a RabbitMQ consumer', () => {
  it("past the deadline, a consumer still in its handler releases the message to the group's other consumer", async () => {
    fixture = await connectAmqp();
    const prefix = `${uniqueName('i21-deadline')}.`;
    for (const q of ['jobs', 'jobs.dead']) fixture.track(`${prefix}${q}`);
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    // closeTimeoutMs at its 30 s default.
    const queue = () =>
      new MessageQueue({ adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })) });
    const a = queue();
    const b = queue();
    let aStarted = false;
    let aFinish: () => void = () => {};
    const atB: Array<{ atMs: number; deliveryCount: number }> = [];
    try {
      const consumerA = await a.consume(
        'jobs',
        () =>
          new Promise<void>((resolve) => {
            aStarted = true;
            aFinish = resolve;
          }),
        { prefetch: 1 },
      );
      await a.publish('jobs', { id: 'long' });
      await until('A to start it', () => aStarted);
      await b.consume('jobs', (_m: unknown, { deliveryCount }) => {
        atB.push({ atMs: performance.now(), deliveryCount });
      });
      const lifecycle = new ServiceLifecycle({ deadlineMs: 400 });
      lifecycle.manage(consumerA);
      const report = await lifecycle.shutdown();
      const stoppedAt = performance.now();
      expect(report.steps.find((s) => s.step === 'stop-consumers')?.outcome).toBe('overran');
      // Before, A kept the message until its handler ended (never, here) or
      // closeTimeoutMs (30 s) passed: B got nothing.
      await until('B to get the message', () => atB.length > 0, 5_000);
      expect(atB[0]!.atMs - stoppedAt).toBeLessThan(2_000);
      expect(atB[0]!.deliveryCount).toBe(2);
      await consumerA.close();
    } finally {
      aFinish();
      await Promise.all([a.close(), b.close()]);
    }
  });
});
