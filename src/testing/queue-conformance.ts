import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { QueueAdapter, QueueDelivery } from '../contracts/queue.js';
import { isScaleoutError } from '../errors.js';
import { MessageQueue } from '../queue/message-queue.js';
import type { DeadLetter } from '../queue/message-queue-options.js';
import { foreignMessageTests } from './queue-foreign-conformance.js';
import { stopDeliveringTests } from './queue-stop-conformance.js';
import { textTests } from './queue-text-conformance.js';
import type { ConformanceOptions } from './test-api.js';

/**
 * Options of {@link queueAdapterConformance}.
 *
 * @example
 * ```ts
 * const options: QueueConformanceOptions = { name: 'memory', test, create: () => memoryQueueAdapter() };
 * ```
 */
export interface QueueConformanceOptions extends ConformanceOptions<QueueAdapter> {
  /**
   * How long a message held by a consumer that went away may take to reach
   * another consumer (a Redis Streams adapter reclaims after its idle time).
   * @default 10_000
   */
  redeliveryTimeoutMs?: number;
  /** A topic name unique to one test. @default `conf.<uuid>` */
  topic?(): string;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new assert.AssertionError({ message: `timed out waiting for ${what}` });
    await new Promise((r) => setTimeout(r, 10));
  }
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The conformance suite of the {@link QueueAdapter} contract, run through
 * {@link MessageQueue}: delivery, acknowledgement, retries counted across
 * deliveries, the delivery limit and dead letters, unparseable messages,
 * prefetch, consumer groups, draining close and redelivery of messages held
 * by a consumer that went away. Uses `node:assert`, so it runs under any
 * runner.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryQueueAdapter } from 'scaleout';
 * import { queueAdapterConformance } from 'scaleout/testing';
 * queueAdapterConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryQueueAdapter(),
 * });
 * ```
 */
export function queueAdapterConformance(options: QueueConformanceOptions): void {
  const { test } = options;
  const redeliveryMs = options.redeliveryTimeoutMs ?? 10_000;
  const newTopic = options.topic ?? (() => `conf.${randomUUID()}`);
  const T = 30_000 + redeliveryMs;

  test.describe(`QueueAdapter conformance: ${options.name}`, () => {
    let adapters: QueueAdapter[] = [];
    let queues: MessageQueue[] = [];

    const open = async (extra: ConstructorParameters<typeof MessageQueue>[0] = {}) => {
      const adapter = await options.create();
      adapters.push(adapter);
      const queue = new MessageQueue({ retryBaseMs: 5, retryMaxMs: 20, ...extra, adapter });
      queues.push(queue);
      return { adapter, queue };
    };

    test.afterEach(async () => {
      for (const q of queues) await q.close().catch(() => {});
      for (const a of adapters) {
        await Promise.resolve(options.destroy ? options.destroy(a) : a.close()).catch(() => {});
      }
      queues = [];
      adapters = [];
    });

    test.it(
      'two queues sharing one adapter: closing one leaves the other publishing and consuming, and the adapter open',
      async () => {
        const { adapter, queue: first } = await open();
        const second = new MessageQueue({ retryBaseMs: 5, retryMaxMs: 20, adapter });
        queues.push(second);
        const topic = newTopic();
        const got: number[] = [];
        await first.consume<number>(topic, () => {}, { group: 'first' });
        await second.consume<number>(topic, (n) => void got.push(n), { group: 'second' });
        await first.close();
        await assert.rejects(first.publish(topic, 0), (err) => isScaleoutError(err, 'ERR_CLOSED'));
        await second.publish(topic, 1);
        await waitFor('delivery through the queue left open', () => got.length === 1);
        assert.deepEqual(got, [1]);
        // The adapter was the caller's: still open for a third queue.
        const third = new MessageQueue({ retryBaseMs: 5, retryMaxMs: 20, adapter });
        queues.push(third);
        const late: number[] = [];
        await third.consume<number>(topic, (n) => void late.push(n), { group: 'third' });
        await third.publish(topic, 2);
        await waitFor('delivery through a queue opened after the close', () => late.length === 1);
        await second.close();
        assert.deepEqual(late, [2]);
      },
      T,
    );

    test.it(
      'names its messaging.system with messagingSystem: absent, or a string of 1 to 64 characters',
      async () => {
        const { adapter } = await open();
        const system: unknown = adapter.messagingSystem;
        if (system === undefined) return;
        assert.equal(typeof system, 'string', 'messagingSystem must be a string');
        assert.ok(
          (system as string).length >= 1 && (system as string).length <= 64,
          'messagingSystem: 1 to 64 characters',
        );
      },
    );

    test.it(
      'delivers a published message with its id, headers and payload, then acknowledges it',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        const got: Array<{ value: unknown; id: string; headers: Record<string, string>; n: number }> = [];
        await queue.consume(topic, (value, ctx) => {
          got.push({ value, id: ctx.id, headers: { ...ctx.headers }, n: ctx.deliveryCount });
        });
        const id = await queue.publish(
          topic,
          { orderId: 1, items: ['a', 'b'] },
          { headers: { tenant: 'acme' } },
        );
        await waitFor('delivery', () => got.length === 1);
        await settle(200);
        assert.equal(got.length, 1, 'acknowledged messages are not delivered again');
        assert.equal(got[0]!.id, id);
        assert.deepEqual(got[0]!.value, { orderId: 1, items: ['a', 'b'] });
        assert.equal(got[0]!.headers.tenant, 'acme');
        assert.equal(got[0]!.n, 1);
      },
      T,
    );

    test.it(
      'keeps messages published before the first consumer, and honours a given messageId',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        await queue.publish(topic, 'early-1', { messageId: 'order-1', persistent: false });
        await queue.publish(topic, 'early-2', { messageId: 'order-2' });
        const got: string[] = [];
        await queue.consume<string>(topic, (value, ctx) => {
          got.push(`${ctx.id}=${value}`);
        });
        await waitFor('both deliveries', () => got.length === 2);
        assert.deepEqual(got.sort(), ['order-1=early-1', 'order-2=early-2']);
      },
      T,
    );

    test.it(
      'retries a failing handler with a growing delivery count, then acknowledges',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        const counts: number[] = [];
        const ids = new Set<string>();
        await queue.consume(
          topic,
          (_v, ctx) => {
            counts.push(ctx.deliveryCount);
            ids.add(ctx.id);
            if (ctx.deliveryCount < 3) throw new Error('transient');
          },
          { maxDeliveries: 5 },
        );
        await queue.publish(topic, { n: 1 });
        await waitFor('three deliveries', () => counts.length === 3);
        await settle(300);
        assert.deepEqual(counts, [1, 2, 3]);
        assert.equal(ids.size, 1, 'the message id is the same on every delivery');
      },
      T,
    );

    test.it(
      'tries a poison message exactly maxDeliveries times, then dead-letters it once with the error',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        let attempts = 0;
        const dead: DeadLetter[] = [];
        await queue.consumeDeadLetters(topic, (d) => {
          dead.push(d);
        });
        await queue.consume(
          topic,
          () => {
            attempts++;
            throw new TypeError('cannot ship to the moon');
          },
          { maxDeliveries: 3 },
        );
        const id = await queue.publish(topic, { orderId: 'poison' });
        await waitFor('a dead letter', () => dead.length === 1);
        await settle(300);
        assert.equal(attempts, 3);
        assert.equal(dead.length, 1);
        const d = dead[0]!;
        assert.equal(d.id, id);
        assert.equal(d.topic, topic);
        assert.equal(d.reason, 'handler-error');
        assert.equal(d.error.name, 'TypeError');
        assert.equal(d.error.message, 'cannot ship to the moon');
        assert.equal(d.deliveries, 3);
        assert.deepEqual(JSON.parse(d.body), { orderId: 'poison' });
        assert.ok(d.deadAt > 0);
      },
      T,
    );

    test.it(
      'sends an unparseable message straight to the dead letters and keeps consuming',
      async () => {
        const { adapter, queue } = await open();
        const topic = newTopic();
        const handled: unknown[] = [];
        const dead: DeadLetter[] = [];
        await queue.consumeDeadLetters(topic, (d) => {
          dead.push(d);
        });
        await queue.consume(topic, (v) => {
          handled.push(v);
        });
        await adapter.publish(topic, {
          id: 'broken-1',
          body: '{"orderId": 1,',
          headers: {},
          persistent: true,
          timestamp: Date.now(),
        });
        await adapter.publish(topic, {
          id: 'polluted-1',
          body: '{"__proto__": {"admin": true}}',
          headers: {},
          persistent: true,
          timestamp: Date.now(),
        });
        await queue.publish(topic, { ok: true });
        await waitFor('two dead letters and one message', () => dead.length === 2 && handled.length === 1);
        assert.deepEqual(handled, [{ ok: true }]);
        assert.deepEqual(dead.map((d) => d.id).sort(), ['broken-1', 'polluted-1']);
        for (const d of dead) {
          assert.equal(d.reason, 'unparseable');
          assert.equal(d.deliveries, 1);
        }
        const broken = dead.find((d) => d.id === 'broken-1')!;
        const polluted = dead.find((d) => d.id === 'polluted-1')!;
        assert.equal(broken.body, '{"orderId": 1,');
        assert.match(broken.error.message, /malformed JSON/, 'the dead letter says why');
        assert.equal(polluted.body, '{"__proto__": {"admin": true}}');
        assert.match(polluted.error.message, /__proto__/, 'the dead letter says why');
      },
      T,
    );

    foreignMessageTests({ test, open, newTopic, waitFor, settle, timeoutMs: T });
    stopDeliveringTests({ test, open, newTopic, waitFor, settle, timeoutMs: T });
    textTests({ test, open, newTopic, waitFor, settle, timeoutMs: T });

    test.it(
      'drops dead letters when deadLetter is false, and reports them',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        const events: string[] = [];
        queue.on('dead-letter', (e) => events.push(`${e.id}:${String(e.deadLetterTopic)}`));
        await queue.consume(
          topic,
          () => {
            throw new Error('no');
          },
          { maxDeliveries: 1, deadLetter: false },
        );
        const id = await queue.publish(topic, 1);
        await waitFor('the dead-letter event', () => events.length === 1);
        assert.deepEqual(events, [`${id}:undefined`]);
      },
      T,
    );

    test.it(
      'holds at most prefetch messages at once per consumer',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        let running = 0;
        let peak = 0;
        let done = 0;
        // Published first, so that the back end has more than prefetch ready at once.
        for (let i = 0; i < 8; i++) await queue.publish(topic, i);
        await queue.consume(
          topic,
          async () => {
            running++;
            peak = Math.max(peak, running);
            await settle(50);
            running--;
            done++;
          },
          { prefetch: 2 },
        );
        await waitFor('eight messages', () => done === 8);
        assert.ok(peak <= 2, `peak concurrency ${peak} exceeds prefetch 2`);
        assert.equal(peak, 2, 'prefetch 2 lets two run at once');
      },
      T,
    );

    test.it(
      'gives every group each message once and shares a group between its consumers',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        const a1: number[] = [];
        const a2: number[] = [];
        const b: number[] = [];
        await queue.consume<number>(topic, (v) => void a1.push(v), { group: 'a', prefetch: 1 });
        await queue.consume<number>(topic, (v) => void a2.push(v), { group: 'a', prefetch: 1 });
        await queue.consume<number>(topic, (v) => void b.push(v), { group: 'b' });
        for (let i = 0; i < 20; i++) await queue.publish(topic, i);
        await waitFor('all messages in both groups', () => a1.length + a2.length === 20 && b.length === 20);
        await settle(200);
        assert.deepEqual(
          [...a1, ...a2].sort((x, y) => x - y),
          [...Array(20).keys()],
        );
        assert.deepEqual(
          [...b].sort((x, y) => x - y),
          [...Array(20).keys()],
        );
      },
      T,
    );

    test.it(
      'close() waits for the handler in flight, acknowledges it and takes nothing more',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        let finished = 0;
        let started = 0;
        const consumer = await queue.consume(
          topic,
          async () => {
            started++;
            await settle(150);
            finished++;
          },
          { prefetch: 1 },
        );
        await queue.publish(topic, 1);
        await waitFor('the first handler to start', () => started === 1);
        await consumer.close();
        assert.equal(finished, 1, 'close() drained the handler in flight');
        await queue.publish(topic, 2);
        await settle(200);
        assert.equal(started, 1);
        // The second message is still there for the next consumer.
        const later: number[] = [];
        await queue.consume<number>(topic, (v) => void later.push(v));
        await waitFor('the second message', () => later.length === 1);
        assert.deepEqual(later, [2]);
      },
      T,
    );

    test.it(
      'redelivers a message held by a consumer that went away to another consumer',
      async () => {
        const first = await open();
        const topic = newTopic();
        // A consumer that receives the message and never settles it, then dies.
        const held: QueueDelivery[] = [];
        const sub = await first.adapter.consume(topic, (d) => void held.push(d), {
          group: 'default',
          prefetch: 1,
          deadLetterTopic: undefined,
        });
        const id = await first.queue.publish(topic, { orderId: 7 });
        await waitFor('the first delivery', () => held.length === 1);
        await sub.unsubscribe();
        const got: Array<{ id: string; n: number }> = [];
        await first.queue.consume(topic, (_v, ctx) => {
          got.push({ id: ctx.id, n: ctx.deliveryCount });
        });
        await waitFor('the redelivery', () => got.length === 1, redeliveryMs);
        assert.equal(got[0]!.id, id);
        assert.ok(got[0]!.n >= 2, 'a redelivery counts as another delivery');
      },
      T,
    );

    test.it(
      'refuses bad arguments with typed errors and publishes nothing',
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        await assert.rejects(queue.publish('', 1), (e) => isScaleoutError(e, 'ERR_INVALID_ARGUMENT'));
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        await assert.rejects(queue.publish(topic, circular), (e) => isScaleoutError(e, 'ERR_SERIALIZE'));
        await assert.rejects(queue.publish(topic, 1, { headers: { n: 1 as unknown as string } }), (e) =>
          isScaleoutError(e, 'ERR_INVALID_ARGUMENT'),
        );
        await assert.rejects(
          queue.consume(topic, () => {}, { prefetch: 0 }),
          (e) => isScaleoutError(e, 'ERR_INVALID_ARGUMENT'),
        );
        const got: unknown[] = [];
        await queue.consume(topic, (v) => void got.push(v));
        await queue.publish(topic, 'only');
        await waitFor('the one valid message', () => got.length === 1);
        await settle(100);
        assert.deepEqual(got, ['only']);
      },
      T,
    );

    test.it(
      'reports its connection state, when it does: connected once used, closed after close(), told to watchers',
      async () => {
        const { adapter, queue } = await open();
        if (adapter.connectionState === undefined) return;
        assert.equal(
          typeof adapter.watchConnection,
          'function',
          'connectionState comes with watchConnection',
        );
        const topic = newTopic();
        await queue.publish(topic, 1);
        await waitFor('connected once used', () => adapter.connectionState === 'connected');
        assert.equal(queue.connectionState, 'connected');
        const seen: string[] = [];
        const sub = adapter.watchConnection!((state) => seen.push(state));
        await adapter.close();
        assert.equal(adapter.connectionState, 'closed');
        assert.deepEqual(seen, ['closed']);
        await sub.unsubscribe();
      },
      T,
    );

    test.it(
      "runs the handler in the async context of its consume() call, not the publisher's or the connection's",
      async () => {
        const { queue } = await open();
        const topic = newTopic();
        const als = new AsyncLocalStorage<string>();
        // The first call may open the adapter's connection (and its sockets).
        await als.run('opener', () => queue.publish(topic, 'early'));
        const seen: Array<string | undefined> = [];
        await als.run('consumer', () => queue.consume(topic, () => void seen.push(als.getStore())));
        await als.run('publisher', () => queue.publish(topic, 'late'));
        await waitFor('both deliveries', () => seen.length === 2);
        assert.deepEqual(seen, ['consumer', 'consumer']);
      },
      T,
    );
  });
}
