import assert from 'node:assert/strict';
import type { QueueAdapter } from '../contracts/queue.js';
import { isScaleoutError, type PayloadTooLargeError } from '../errors.js';
import type { MessageQueue } from '../queue/message-queue.js';
import type { DeadLetter, MessageQueueOptions } from '../queue/message-queue-options.js';
import type { TestApi } from './test-api.js';

/** @internal What the queue conformance suite shares with these tests. */
export interface QueueConformanceContext {
  test: TestApi;
  /** A fresh adapter and a queue over it (closed after the test). */
  open(extra?: MessageQueueOptions): Promise<{ adapter: QueueAdapter; queue: MessageQueue }>;
  newTopic(): string;
  waitFor(what: string, check: () => boolean, timeoutMs?: number): Promise<void>;
  settle(ms: number): Promise<unknown>;
  timeoutMs: number;
}

/**
 * @internal Part of `queueAdapterConformance`: messages that another
 * producer wrote straight to the back end (forged retry counters, escaped
 * pollution keys, oversized payloads) are never trusted, never crash the
 * consumer, and reach the dead letters with their payload and a true reason.
 */
export function foreignMessageTests(ctx: QueueConformanceContext): void {
  const { test, open, newTopic, waitFor, settle, timeoutMs } = ctx;

  test.it(
    'dead-letters an escaped "\\u005f_proto__" payload with its body and a true reason',
    async () => {
      const { adapter, queue } = await open();
      const topic = newTopic();
      const handled: unknown[] = [];
      const dead: DeadLetter[] = [];
      await queue.consumeDeadLetters(topic, (d) => void dead.push(d));
      await queue.consume(topic, (v) => void handled.push(v));
      const body = '{"a":{"\\u005f_proto__":{"admin":true}}}';
      await adapter.publish(topic, {
        id: 'escaped-1',
        body,
        headers: {},
        persistent: true,
        timestamp: Date.now(),
      });
      await queue.publish(topic, { ok: 1 });
      await waitFor('the dead letter and the good message', () => dead.length === 1 && handled.length === 1);
      assert.deepEqual(handled, [{ ok: 1 }]);
      assert.equal(dead[0]!.body, body);
      assert.equal(dead[0]!.reason, 'unparseable');
      assert.match(dead[0]!.error.message, /__proto__/);
    },
    timeoutMs,
  );

  test.it(
    'does not trust a forged x-scaleout-failures header: a value out of range counts as 0',
    async () => {
      const { adapter, queue } = await open();
      const topic = newTopic();
      const attempts = new Map<string, number[]>();
      const dead: DeadLetter[] = [];
      await queue.consumeDeadLetters(topic, (d) => void dead.push(d));
      await queue.consume(
        topic,
        (_v, ctx) => {
          attempts.set(ctx.id, [...(attempts.get(ctx.id) ?? []), ctx.deliveryCount]);
          throw new Error('always');
        },
        { maxDeliveries: 2 },
      );
      // Each would, if trusted, make the message immortal (negative),
      // dead-letter it unseen (huge) or count nonsense.
      const forged = ['-1000000', '1e3', 'Infinity', 'NaN', ' 1', '0x1', '1.5', '99999', ''];
      for (const [i, value] of forged.entries()) {
        await adapter.publish(topic, {
          id: `forged-${i}`,
          body: '{"n":1}',
          headers: { 'x-scaleout-failures': value },
          persistent: true,
          timestamp: Date.now(),
        });
      }
      await waitFor('every forged message dead-lettered', () => dead.length === forged.length);
      await settle(200);
      for (const [i] of forged.entries()) {
        assert.deepEqual(attempts.get(`forged-${i}`), [1, 2], `forged value #${i} counted from 0`);
      }
      assert.ok(dead.every((d) => d.deliveries === 2 && d.reason === 'handler-error'));
    },
    timeoutMs,
  );

  test.it(
    'refuses a message over maxMessageBytes before sending it, and dead-letters an oversized one written by another producer',
    async () => {
      const { adapter, queue } = await open({ maxMessageBytes: 1_000 });
      const topic = newTopic();
      const handled: unknown[] = [];
      const dead: DeadLetter[] = [];
      await queue.consumeDeadLetters(topic, (d) => void dead.push(d));
      await queue.consume(topic, (v) => void handled.push(v));
      await assert.rejects(queue.publish(topic, 'x'.repeat(1_000)), (e) => {
        assert.ok(isScaleoutError(e, 'ERR_PAYLOAD_TOO_LARGE'));
        assert.equal((e as PayloadTooLargeError).bytes, 1_002);
        assert.equal((e as PayloadTooLargeError).maxBytes, 1_000);
        return true;
      });
      await assert.rejects(queue.publish(topic, 'é'.repeat(400), { headers: { h: 'é'.repeat(200) } }), (e) =>
        isScaleoutError(e, 'ERR_PAYLOAD_TOO_LARGE'),
      );
      const big = JSON.stringify('y'.repeat(5_000));
      await adapter.publish(topic, {
        id: 'big-1',
        body: big,
        headers: {},
        persistent: true,
        timestamp: Date.now(),
      });
      await queue.publish(topic, 'small');
      await waitFor('the dead letter and the small message', () => dead.length === 1 && handled.length === 1);
      assert.deepEqual(handled, ['small'], 'nothing refused reached a handler');
      assert.equal(dead[0]!.id, 'big-1');
      assert.equal(dead[0]!.body, big, 'the dead letter keeps the payload');
      assert.equal(dead[0]!.error.name, 'PayloadTooLargeError');
      assert.equal(dead[0]!.reason, 'unparseable');
    },
    timeoutMs,
  );

  test.it(
    'retries a message of exactly maxMessageBytes like any other: the retry count is not counted toward the cap',
    async () => {
      const { adapter, queue } = await open({ maxMessageBytes: 1_000 });
      const topic = newTopic();
      const attempts: number[] = [];
      const dead: DeadLetter[] = [];
      await queue.consumeDeadLetters(topic, (d) => void dead.push(d));
      await queue.consume(
        topic,
        (_v, c) => {
          attempts.push(c.deliveryCount);
          throw new Error('always');
        },
        { maxDeliveries: 3 },
      );
      // JSON '"yyy…"': exactly 1 000 bytes, accepted.
      await queue.publish(topic, 'y'.repeat(998), { messageId: 'at-cap' });
      // Another producer's message one byte over, with a retry count: still refused.
      await adapter.publish(topic, {
        id: 'over-cap',
        body: JSON.stringify('z'.repeat(999)),
        headers: { 'x-scaleout-failures': '1' },
        persistent: true,
        timestamp: Date.now(),
      });
      await waitFor('both dead letters', () => dead.length === 2);
      const byId = new Map(dead.map((d) => [d.id, d]));
      assert.deepEqual(attempts, [1, 2, 3], 'tried maxDeliveries times');
      assert.equal(byId.get('at-cap')?.reason, 'handler-error');
      assert.equal(byId.get('at-cap')?.deliveries, 3);
      assert.equal(byId.get('over-cap')?.reason, 'unparseable');
      assert.equal(byId.get('over-cap')?.error.name, 'PayloadTooLargeError');
    },
    timeoutMs,
  );
}
