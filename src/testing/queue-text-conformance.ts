import assert from 'node:assert/strict';
import { isScaleoutError } from '../errors.js';
import { MessageQueue } from '../queue/message-queue.js';
import type { QueueConformanceContext } from './queue-foreign-conformance.js';

/**
 * @internal Part of `queueAdapterConformance`: what arrives is what was
 * published, as text. A lone surrogate (`'\ud800'` alone) has no UTF-8
 * encoding, so a back end would store U+FFFD in its place (two ids would
 * arrive as one): `publish` refuses it in an id, a header or a
 * serializer's output, before anything is sent, and so does the adapter's
 * own `publish`. Text with surrogate pairs (emoji) arrives unchanged.
 */
export function textTests(ctx: QueueConformanceContext): void {
  const { test, open, newTopic, waitFor, settle, timeoutMs } = ctx;

  test.it(
    'refuses a lone surrogate in an id, a header or a serializer’s output before sending it; emoji arrive unchanged',
    async () => {
      const { adapter, queue } = await open();
      const topic = newTopic();
      const got: Array<{ value: unknown; id: string; headers: Readonly<Record<string, string>> }> = [];
      await queue.consume(topic, (value, c) => void got.push({ value, id: c.id, headers: c.headers }));
      const refused = (code: string) => (e: unknown) => {
        assert.ok(isScaleoutError(e, code as 'ERR_INVALID_ARGUMENT'), `${code}: ${String(e)}`);
        assert.match((e as Error).message, /lone surrogate/);
        return true;
      };
      await assert.rejects(
        queue.publish(topic, 1, { messageId: 'id-\ud800' }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(
        queue.publish(topic, 1, { headers: { note: 'x\udfffy' } }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(
        queue.publish(topic, 1, { headers: { 'n\ud800': 'x' } }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(queue.publish(`${topic}\ud800`, 1), refused('ERR_INVALID_ARGUMENT'));
      const message = { id: 'adapter-1', body: '1', headers: {}, persistent: true, timestamp: Date.now() };
      await assert.rejects(
        adapter.publish(topic, { ...message, id: 'a\udc00' }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(
        adapter.publish(topic, { ...message, body: '"\ud800"' }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(
        adapter.publish(topic, { ...message, headers: { h: '\ud800' } }),
        refused('ERR_INVALID_ARGUMENT'),
      );
      // A serializer that returns the string as it is (no JSON escaping), on the same adapter.
      const raw = new MessageQueue({
        adapter,
        serializer: { serialize: (v) => v as string, deserialize: <T>(t: string) => t as T },
      });
      await assert.rejects(raw.publish(topic, 'a\ud800b'), refused('ERR_SERIALIZE'));
      // The JSON serializer escapes a lone surrogate (`"\ud800"` in ASCII): it arrives as published.
      const id = await queue.publish(
        topic,
        { s: 'x\ud800y 🎉' },
        { messageId: 'id-🎉', headers: { note: 'é🎉' } },
      );
      await raw.publish(topic, '"pair 🎉"', { messageId: 'raw-🎉' }); // JSON text, read by the JSON consumer
      await waitFor('the two messages', () => got.length === 2);
      await settle(100);
      assert.equal(id, 'id-🎉');
      const byId = new Map(got.map((g) => [g.id, g]));
      assert.deepEqual([...byId.keys()].sort(), ['id-🎉', 'raw-🎉'], 'nothing refused was sent');
      assert.deepEqual(byId.get('id-🎉')?.value, { s: 'x\ud800y 🎉' });
      assert.equal(byId.get('id-🎉')?.headers.note, 'é🎉');
      assert.equal(byId.get('raw-🎉')?.value, 'pair 🎉');
      await raw.close();
    },
    timeoutMs,
  );
}
