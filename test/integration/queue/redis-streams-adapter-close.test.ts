/**
 * The Redis Streams adapter's own `close()` (called directly, or by the
 * owner of an adapter shared by several queues) stops its consumers as a
 * consumer's graceful stop does: they stop reading, the messages they
 * handed out are settled on the still-open connection (up to
 * `closeTimeoutMs` or the `signal` of `close({ signal })`), then the
 * readers close and the connections the adapter opened too. Real
 * redis-server.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageQueue, type QueueErrorEvent } from '../../../src/index.js';
import { type RedisStreamsQueueAdapterOptions, redisStreamsQueueAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { outgoingMessage } from '../../helpers/queue-message.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { sleep, until } from '../../helpers/wait.js';

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  admin = server.client();
});
afterAll(async () => {
  await server?.stop();
});

const TOPIC = 'jobs';
const consumeOptions = (prefetch: number) => ({ group: 'default', prefetch, deadLetterTopic: undefined });

function options(extra: Partial<RedisStreamsQueueAdapterOptions> = {}): RedisStreamsQueueAdapterOptions {
  return {
    connection: server.url,
    prefix: uniquePrefix('adapter-close'),
    claimIdleMs: 1_000,
    sweepIntervalMs: 50,
    blockMs: 50,
    ...extra,
  };
}

/** Entries of the `default` group read and not acknowledged. */
async function pending(prefix: string): Promise<number> {
  return Number(((await admin.xpending(`${prefix}${TOPIC}`, 'default')) as [number])[0]);
}

/** What a new consumer of the group gets: what was handed back (reclaimed), then `sentinel`. */
async function drainWithNewConsumer(
  o: RedisStreamsQueueAdapterOptions,
  sentinel: string,
): Promise<Array<{ id: string; deliveryCount: number }>> {
  const adapter = redisStreamsQueueAdapter({ ...o, connection: server.url });
  const got: Array<{ id: string; deliveryCount: number }> = [];
  try {
    await adapter.consume(
      TOPIC,
      (d) => {
        got.push({ id: d.id, deliveryCount: d.deliveryCount });
        void d.ack();
      },
      consumeOptions(10),
    );
    await adapter.publish(TOPIC, outgoingMessage(sentinel));
    await until('the sentinel', () => got.some((g) => g.id === sentinel), 10_000);
    return got;
  } finally {
    await adapter.close();
  }
}

describe('redisStreamsQueueAdapter.close()', () => {
  it('the handlers in flight complete and their messages are acknowledged exactly once', async () => {
    const o = options();
    const adapter = closedAfterTest(redisStreamsQueueAdapter(o));
    const started: string[] = [];
    const acked: string[] = [];
    const failures: unknown[] = [];
    let release!: () => void;
    const mayAck = new Promise<void>((resolve) => {
      release = resolve;
    });
    await adapter.consume(
      TOPIC,
      (d) => {
        started.push(d.id);
        void mayAck
          .then(() => d.ack())
          .then(
            () => acked.push(d.id),
            (err: unknown) => failures.push(err),
          );
      },
      consumeOptions(3),
    );
    for (const id of ['m1', 'm2', 'm3']) await adapter.publish(TOPIC, outgoingMessage(id));
    await until('the three handlers to start', () => started.length === 3);
    let closed = false;
    const closing = adapter.close().then(() => {
      closed = true;
    });
    // The stop has begun: consume() is refused at once.
    await expect(adapter.consume('other', () => {}, consumeOptions(1))).rejects.toMatchObject({
      code: 'ERR_CLOSED',
    });
    expect(closed).toBe(false);
    release();
    await closing;
    // Before, close() returned at once: the acks failed with "ConnectionError:
    // Redis Streams ack failed" and the entries stayed pending.
    expect(failures).toEqual([]);
    expect(acked.sort()).toEqual(['m1', 'm2', 'm3']);
    expect(await pending(o.prefix!)).toBe(0);
    expect(await drainWithNewConsumer(o, 'sentinel')).toEqual([{ id: 'sentinel', deliveryCount: 1 }]);
  });

  it('closing an adapter shared by a queue: the queue’s handler in flight finishes and acknowledges, no error event', async () => {
    const o = options();
    const adapter = closedAfterTest(redisStreamsQueueAdapter(o));
    const queue = new MessageQueue({ adapter });
    const errors: QueueErrorEvent[] = [];
    queue.on('error', (e) => void errors.push(e));
    let started = 0;
    const finished: number[] = [];
    let release!: () => void;
    const mayFinish = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await queue.consume<{ n: number }>(TOPIC, async (m) => {
        started++;
        await mayFinish;
        finished.push(m.n);
      });
      await queue.publish(TOPIC, { n: 1 });
      await until('the handler to start', () => started === 1);
      let closed = false;
      const closing = adapter.close().then(() => {
        closed = true;
      });
      // The handler ends after close() returned, or after a while if it waits.
      await Promise.race([closing, sleep(500)]);
      expect(closed).toBe(false);
      release();
      await closing;
      expect(finished).toEqual([1]);
      expect(errors).toEqual([]);
      expect(await pending(o.prefix!)).toBe(0);
    } finally {
      release();
      await queue.close();
    }
  });

  it('a handler that never ends: close() returns by closeTimeoutMs; the others were acknowledged, that one is handed back', async () => {
    const o = options({ closeTimeoutMs: 300 });
    const adapter = closedAfterTest(redisStreamsQueueAdapter(o));
    const started: string[] = [];
    const acked: string[] = [];
    await adapter.consume(
      TOPIC,
      (d) => {
        started.push(d.id);
        if (d.id === 'stuck') return; // never settled
        void d.ack().then(() => acked.push(d.id));
      },
      consumeOptions(2),
    );
    await adapter.publish(TOPIC, outgoingMessage('stuck'));
    await adapter.publish(TOPIC, outgoingMessage('quick'));
    await until('both to start', () => started.length === 2);
    await until('the quick one to ack', () => acked.length === 1);
    await adapter.close();
    expect(acked).toEqual(['quick']);
    expect(await pending(o.prefix!)).toBe(1);
    // Handed back (idle), so a new consumer reclaims it at once: its second delivery.
    const after = await drainWithNewConsumer(o, 'sentinel');
    expect(after.find((g) => g.id === 'stuck')).toEqual({ id: 'stuck', deliveryCount: 2 });
    expect(after.map((g) => g.id).sort()).toEqual(['sentinel', 'stuck']);
  });

  it('close({ signal }) ends the wait when the signal aborts; a second close() is the same stop; unknown keys are refused', async () => {
    const o = options();
    const adapter = closedAfterTest(redisStreamsQueueAdapter(o));
    let held = 0;
    await adapter.consume(
      TOPIC,
      () => {
        held++; // never settled
      },
      consumeOptions(1),
    );
    await adapter.publish(TOPIC, outgoingMessage('stuck'));
    await until('the delivery', () => held === 1);
    await expect(adapter.close({ timeoutMs: 10 } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    const controller = new AbortController();
    const first = adapter.close({ signal: controller.signal });
    const second = adapter.close();
    expect(second).toBe(first);
    let done = false;
    void first.then(() => {
      done = true;
    });
    await sleep(200);
    // closeTimeoutMs is 30 s by default: still waiting for the handler.
    expect(done).toBe(false);
    controller.abort();
    await first;
    expect(adapter.connectionState).toBe('closed');
    expect(await pending(o.prefix!)).toBe(1);
  });
});
