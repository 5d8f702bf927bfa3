/**
 * The RabbitMQ queue adapter behind the TCP fault proxy (in front of the
 * shared broker): every connection reset, then added latency beyond the
 * publish timeout, while publishers keep publishing. Promise: no confirmed
 * message is lost, every failed publish rejects with a typed error, and
 * consuming resumes after the faults.
 */
import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import { isScaleoutError } from '../../src/errors.js';
import { MessageQueue } from '../../src/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { sleep, until } from '../helpers/wait.js';

const prefix = 'scaleout-test.';
const TYPED = ['ERR_TIMEOUT', 'ERR_CONNECTION', 'ERR_ABORTED', 'ERR_QUEUE_BUFFER_FULL'];

describe('RabbitMQ queue behind the TCP fault proxy', () => {
  it('connections reset, then latency beyond the publish timeout: no confirmed message lost, failures typed, consuming resumes', async () => {
    const broker = new URL(amqpUrl());
    const proxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    const fixture = await connectAmqp();
    const topic = uniqueName('proxy');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        amqpQueueAdapter({
          url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${proxy.port}`,
          prefix,
          reconnectBaseMs: 20,
          reconnectMaxMs: 200,
          publishTimeoutMs: 1_000,
        }),
      ),
    });
    const received = new Set<string>();
    const attempted = new Set<string>();
    const confirmed: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    try {
      await queue.consume<{ id: string }>(topic, (m) => void received.add(m.id), { prefetch: 32 });
      const publisher = async (p: number) => {
        for (let i = 0; !stop; i++) {
          const id = `${p}-${i}`;
          attempted.add(id);
          try {
            await queue.publish(topic, { id });
            confirmed.push(id);
          } catch (err) {
            failures.push(err);
            await sleep(20);
          }
        }
      };
      const publishers = [publisher(1), publisher(2), publisher(3)];
      await until('some confirmed publishes', () => confirmed.length >= 20);
      proxy.setMode({ kind: 'reset' });
      await sleep(1_500);
      proxy.setMode({ kind: 'pass' });
      await sleep(1_000);
      proxy.setMode({ kind: 'delay', ms: 1_500 });
      await sleep(2_500);
      proxy.setMode({ kind: 'pass' });
      const afterFaults = confirmed.length;
      await until('publishes confirmed after the faults', () => confirmed.length >= afterFaults + 20);
      stop = true;
      await Promise.all(publishers);
      // Every confirmed message arrives; nothing arrives that was never published
      // (a failed publish may still have reached the broker: at least once).
      await until('every confirmed message consumed', () => confirmed.every((id) => received.has(id)));
      for (const id of received) expect(attempted.has(id)).toBe(true);
      expect(failures.length).toBeGreaterThan(0);
      for (const err of failures) {
        expect(TYPED.some((code) => isScaleoutError(err, code as never))).toBe(true);
      }
      // Consuming resumed: a message published now is consumed.
      await queue.publish(topic, { id: 'final' });
      await until('the final message', () => received.has('final'));
    } finally {
      stop = true;
      proxy.setMode({ kind: 'pass' });
      await queue.close();
      await proxy.close();
      await fixture.cleanup();
    }
  }, 90_000);
});
