/**
 * The RabbitMQ adapter's close() behind the TCP fault proxy in `blackhole`
 * mode: the broker's end accepts the connection and then never answers (no
 * cancel-ok, channel.close-ok nor connection.close-ok). close() must still
 * settle by its deadline (`closeTimeoutMs` or the signal, plus the close
 * handshake's floor), destroy the socket (nothing left open: the file
 * exits) and report what did not finish through the logger; the same for
 * `MessageQueue.close()` over this adapter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AmqpQueueAdapter, amqpQueueAdapter } from '../../src/amqp.js';
import { MessageQueue, ServiceLifecycle } from '../../src/index.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { outgoingMessage } from '../helpers/queue-message.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { until } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/**
 * Whether `promise` settled within `ms` (a liveness bound, far above the
 * deadline under test, not a speed measurement). The timer is cleared.
 */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Setup {
  proxy: FaultProxy;
  fixture: AmqpFixture;
  adapter: AmqpQueueAdapter;
  topic: string;
  warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }>;
}

/** An adapter through a fresh proxy, a unique prefix, its queues deleted after the test. */
async function setUp(closeTimeoutMs: number): Promise<Setup> {
  const broker = new URL(amqpUrl());
  const proxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  // The proxy is closed last: it resets what is still open (a hung close before the fix).
  cleanups.push(() => proxy.close());
  const fixture = await connectAmqp();
  cleanups.push(async () => {
    await fixture.cleanup();
  });
  const prefix = `${uniqueName('blackhole')}.`;
  const topic = 'jobs';
  fixture.track(`${prefix}${topic}`);
  fixture.track(`${prefix}${topic}.dead`);
  fixture.track(`${prefix}scaleout.topics`, 'exchange');
  fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
  const warnings: Setup['warnings'] = [];
  const adapter = amqpQueueAdapter({
    url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${proxy.port}`,
    prefix,
    closeTimeoutMs,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    logger: {
      warn: (message, fields) => void warnings.push({ message, fields }),
      error: (message, fields) => void warnings.push({ message, fields }),
    },
  });
  return { proxy, fixture, adapter, topic, warnings };
}

/** The report close() logs when the broker did not answer in time. */
function closeReport(warnings: Setup['warnings']) {
  return warnings.find((w) => /close/i.test(w.message) && Array.isArray(w.fields?.unfinished));
}

describe('RabbitMQ adapter close() with a broker that stops answering (proxy blackhole)', () => {
  it('close() settles by closeTimeoutMs, destroys the socket and reports what did not finish', async () => {
    const { proxy, adapter, topic, warnings } = await setUp(300);
    await adapter.consume(topic, (d) => void d.ack(), {
      group: 'default',
      prefetch: 4,
      deadLetterTopic: undefined,
    });
    await adapter.publish(topic, outgoingMessage('m1'));
    expect(proxy.connections).toBe(1);
    proxy.setMode({ kind: 'blackhole' });
    // Before: close() waited for cancel-ok up to closeTimeoutMs, then for
    // channel.close-ok forever (amqplib has no timeout of its own).
    expect(await settlesWithin(adapter.close(), 10_000)).toBe(true);
    await expect(adapter.close()).resolves.toBeUndefined();
    // The socket was destroyed: the proxy saw its client go.
    await until('the adapter socket to close', () => proxy.connections === 0, 5_000);
    const report = closeReport(warnings);
    expect(report).toBeDefined();
    expect(report!.fields!.unfinished).toEqual(['closing the consumer channels']);
    expect(report!.fields!.socket).toBe('destroyed');
    expect(adapter.connectionState).toBe('closed');
  }, 20_000);

  it('close({ signal }) settles soon after the signal aborts, well before closeTimeoutMs', async () => {
    const { proxy, adapter, topic, warnings } = await setUp(600_000);
    await adapter.consume(topic, (d) => void d.ack(), {
      group: 'default',
      prefetch: 4,
      deadLetterTopic: undefined,
    });
    await adapter.publish(topic, outgoingMessage('m1'));
    proxy.setMode({ kind: 'blackhole' });
    expect(await settlesWithin(adapter.close({ signal: AbortSignal.timeout(200) }), 10_000)).toBe(true);
    await until('the adapter socket to close', () => proxy.connections === 0, 5_000);
    expect(closeReport(warnings)).toBeDefined();
  }, 20_000);

  it('a publisher-only adapter: close() settles although the confirm channel and connection never close-ok', async () => {
    const { proxy, adapter, topic, warnings } = await setUp(300);
    await adapter.publish(topic, outgoingMessage('m1'));
    proxy.setMode({ kind: 'blackhole' });
    expect(await settlesWithin(adapter.close(), 10_000)).toBe(true);
    await until('the adapter socket to close', () => proxy.connections === 0, 5_000);
    const report = closeReport(warnings);
    // The confirm channel's close-ok never came (so the connection close never started).
    expect(report?.fields?.unfinished).toEqual(['closing the confirm channel']);
    expect(report?.fields?.socket).toBe('destroyed');
  }, 20_000);

  it('MessageQueue.close() over the adapter, then the adapter close(): both settle by their deadlines', async () => {
    const { proxy, adapter, topic, warnings } = await setUp(300);
    const queue = new MessageQueue({ adapter, closeTimeoutMs: 300 });
    await queue.consume<{ id: string }>(topic, () => {}, { prefetch: 4 });
    await queue.publish(topic, { id: 'm1' });
    proxy.setMode({ kind: 'blackhole' });
    // Before: the consumer's stop waited for channel.close-ok forever.
    expect(await settlesWithin(queue.close(), 10_000)).toBe(true);
    expect(await settlesWithin(adapter.close(), 10_000)).toBe(true);
    await until('the adapter socket to close', () => proxy.connections === 0, 5_000);
    // The consumer's stop gave up on its channel's close-ok; the adapter's close on the confirm channel's.
    expect(warnings.map((w) => w.message)).toContain(
      'AMQP consumer channel close not answered; left to the adapter close',
    );
    expect(closeReport(warnings)?.fields?.unfinished).toEqual(['closing the confirm channel']);
  }, 30_000);

  it('ServiceLifecycle stop (consumer then adapter, both managed): ends by its deadline and the socket goes', async () => {
    const { proxy, adapter, topic, warnings } = await setUp(300);
    const queue = new MessageQueue({ adapter, closeTimeoutMs: 300 });
    const consumer = await queue.consume<{ id: string }>(topic, () => {}, { prefetch: 4 });
    await queue.publish(topic, { id: 'm1' });
    const lifecycle = new ServiceLifecycle({ deadlineMs: 1_500 });
    lifecycle.manage(adapter);
    lifecycle.manage(consumer);
    proxy.setMode({ kind: 'blackhole' });
    expect(await settlesWithin(lifecycle.shutdown(), 10_000)).toBe(true);
    // The steps may overrun the lifecycle's deadline, but what they started
    // ends by the adapter's: before, the consumer's channel close and the
    // adapter's close waited for ever, the socket stayed open.
    expect(await settlesWithin(consumer.close(), 10_000)).toBe(true);
    expect(await settlesWithin(adapter.close(), 10_000)).toBe(true);
    await until('the adapter socket to close', () => proxy.connections === 0, 5_000);
    expect(closeReport(warnings)?.fields?.socket).toBe('destroyed');
    await queue.close();
  }, 30_000);
});
