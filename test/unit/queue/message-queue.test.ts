import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  InvalidArgumentError,
  InvalidOptionsError,
  MESSAGE_QUEUE_DEFAULTS,
  MessageQueue,
  memoryQueueAdapter,
  PayloadTooLargeError,
  SerializationError,
} from '../../../src/index.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('MessageQueue', () => {
  it('validates options at construction', () => {
    expect(() => new MessageQueue({ maxDeliveries: 0 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ prefetch: 1.5 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ retryBaseMs: 100, retryMaxMs: 10 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ deadLetterSuffix: '' })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ maxDeliveries: undefined })).not.toThrow();
  });

  it('generates time-ordered UUID v7 ids and reserves x-scaleout- headers', async () => {
    const queue = new MessageQueue();
    const a = await queue.publish('t', 1);
    const b = await queue.publish('t', 2);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(a < b).toBe(true);
    await expect(queue.publish('t', 1, { headers: { 'x-scaleout-reason': 'x' } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(queue.consume('t', () => {}, { deadLetter: 't' })).rejects.toThrow(InvalidArgumentError);
    await queue.close();
  });

  it('emits retry events with the backoff delay and logs dead letters', async () => {
    const warnings: string[] = [];
    const queue = new MessageQueue({
      adapter: closedAfterTest(memoryQueueAdapter()),
      retryBaseMs: 1,
      retryMaxMs: 4,
      logger: { warn: (m, f) => warnings.push(`${m}:${String(f?.reason)}`) },
    });
    const retries: number[] = [];
    queue.on('retry', (e) => {
      retries.push(e.deliveryCount);
      expect(e.delayMs).toBeGreaterThanOrEqual(0);
      expect(e.delayMs).toBeLessThanOrEqual(4);
    });
    await queue.consume(
      'jobs',
      () => {
        throw new Error('boom');
      },
      { maxDeliveries: 4 },
    );
    await queue.publish('jobs', { n: 1 });
    await until(() => warnings.length === 1);
    expect(retries).toEqual([1, 2, 3]);
    expect(warnings).toEqual(['message dead-lettered:handler-error']);
    await queue.close();
  });

  it('refuses use after close', async () => {
    const queue = new MessageQueue();
    await queue.close();
    await expect(queue.publish('t', 1)).rejects.toThrow(ClosedError);
    await expect(queue.consume('t', () => {})).rejects.toThrow(ClosedError);
  });

  it('closing a consumer cuts a retry wait short and puts the message back at once', async () => {
    const queue = new MessageQueue({ retryBaseMs: 60_000, retryMaxMs: 60_000 });
    let calls = 0;
    const consumer = await queue.consume('slow', () => {
      calls++;
      throw new Error('fail');
    });
    await queue.publish('slow', 1);
    await until(() => calls === 1);
    const started = Date.now();
    await consumer.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    const counts: number[] = [];
    await queue.consume('slow', (_v, ctx) => void counts.push(ctx.deliveryCount));
    await until(() => counts.length === 1);
    // At least the failed attempt counts (a copy that reached the closing
    // consumer counts as one more delivery, as it does on a broker).
    expect(counts[0]).toBeGreaterThanOrEqual(2);
    await queue.close();
  });
});

/** The error a call throws (sync or async), for assertions on its fields. */
async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('MessageQueue refuses what it would otherwise ignore', () => {
  it('refuses unknown constructor keys, naming the option meant, and non-objects', async () => {
    const err = (await caught(() => new MessageQueue({ maxRetries: 3 } as never))) as InvalidOptionsError;
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err.option).toBe('maxRetries');
    expect(err.suggestion).toBe('maxDeliveries');
    expect(await caught(() => new MessageQueue({ retrybaseMs: 5 } as never))).toMatchObject({
      suggestion: 'retryBaseMs',
    });
    expect(await caught(() => new MessageQueue(5 as never))).toBeInstanceOf(InvalidOptionsError);
    expect(await caught(() => new MessageQueue('amqp://x' as never))).toBeInstanceOf(InvalidOptionsError);
    // Something that is not an adapter where the adapter goes.
    expect(await caught(() => new MessageQueue({ adapter: {} as never }))).toMatchObject({
      option: 'adapter',
    });
    expect(await caught(() => new MessageQueue({ serializer: JSON as never }))).toMatchObject({
      option: 'serializer',
    });
    expect(await caught(() => new MessageQueue({ maxMessageBytes: 0 }))).toMatchObject({
      option: 'maxMessageBytes',
    });
  });

  it('publish refuses unknown keys, a bare number, non-plain headers and a non-boolean persistent; nothing is sent', async () => {
    const queue = new MessageQueue();
    const got: unknown[] = [];
    await queue.consume('t', (m) => void got.push(m), { deadLetter: false });
    const durable = (await caught(() =>
      queue.publish('t', 1, { durable: true } as never),
    )) as InvalidOptionsError;
    expect(durable).toBeInstanceOf(InvalidOptionsError);
    expect(durable.suggestion).toBe('persistent');
    expect(await caught(() => queue.publish('t', 1, 3600 as never))).toBeInstanceOf(InvalidOptionsError);
    expect(
      await caught(() => queue.publish('t', 1, { headers: new Map([['a', 'b']]) as never })),
    ).toBeInstanceOf(InvalidArgumentError);
    expect(await caught(() => queue.publish('t', 1, { persistent: 'yes' as never }))).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(await caught(() => queue.publish('t', 1, { signal: {} as never }))).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(
      await caught(() => queue.publish('t', 1, { headers: { 'X-Scaleout-Reason': 'x' } })),
    ).toBeInstanceOf(InvalidArgumentError);
    await queue.publish('t', 'only');
    await until(() => got.length === 1);
    expect(got).toEqual(['only']);
    await queue.close();
  });

  it('consume and consumeDeadLetters refuse unknown keys; a bare number names prefetch', async () => {
    const queue = new MessageQueue();
    const noAck = (await caught(() =>
      queue.consume('t', () => {}, { noAck: true } as never),
    )) as InvalidOptionsError;
    expect(noAck).toBeInstanceOf(InvalidOptionsError);
    expect(noAck.option).toBe('noAck');
    expect(await caught(() => queue.consume('t', () => {}, { maxRetries: 3 } as never))).toMatchObject({
      suggestion: 'maxDeliveries',
    });
    const bare = (await caught(() => queue.consume('t', () => {}, 1 as never))) as InvalidOptionsError;
    expect(bare).toBeInstanceOf(InvalidOptionsError);
    expect(bare.option).toBe('prefetch');
    expect(bare.message).toMatch(/\{ prefetch: /);
    expect(
      await caught(() => queue.consumeDeadLetters('t', () => {}, { deadLetterTopic: 'x' } as never)),
    ).toMatchObject({
      suggestion: 'deadLetter',
    });
    expect(await caught(() => queue.consumeDeadLetters('t', 'nope' as never))).toBeInstanceOf(
      InvalidArgumentError,
    );
    await queue.close();
  });
});

describe('MessageQueue events', () => {
  it('on() refuses an unknown event or a non-function; off() removes a listener', async () => {
    const queue = new MessageQueue({ retryBaseMs: 1, retryMaxMs: 2 });
    expect(await caught(() => queue.on('dead-letters' as never, () => {}))).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(await caught(() => queue.on('retry', 'log' as never))).toBeInstanceOf(InvalidArgumentError);
    const seen: string[] = [];
    const listener = (e: { id: string }) => void seen.push(e.id);
    queue.on('retry', listener);
    queue.off('retry', listener);
    let calls = 0;
    await queue.consume('t', () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });
    await queue.publish('t', 1);
    await until(() => calls === 2);
    expect(seen).toEqual([]);
    await queue.close();
  });
});

describe('MessageQueue message size cap', () => {
  it('refuses a message over 1 MiB by default with PayloadTooLargeError before the adapter sees it', async () => {
    expect(MESSAGE_QUEUE_DEFAULTS.maxMessageBytes).toBe(1_048_576);
    const published: string[] = [];
    const adapter = closedAfterTest(memoryQueueAdapter());
    const publish = adapter.publish.bind(adapter);
    adapter.publish = async (topic, message, options) => {
      published.push(message.id);
      await publish(topic, message, options);
    };
    const queue = new MessageQueue({ adapter });
    const err = (await caught(() =>
      queue.publish('t', 'x'.repeat(50 * 1024 * 1024)),
    )) as PayloadTooLargeError;
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(err.maxBytes).toBe(1_048_576);
    expect(err.bytes).toBe(50 * 1024 * 1024 + 2);
    expect(err.message).not.toContain('xxxx');
    expect(published).toEqual([]);
    // Just under the cap passes; a larger cap is an option.
    await queue.publish('t', 'x'.repeat(1_048_576 - 2));
    const roomy = new MessageQueue({ maxMessageBytes: 4 * 1_048_576 });
    await roomy.publish('t', 'x'.repeat(2 * 1_048_576));
    await queue.close();
    await roomy.close();
  });
});

describe('MessageQueue publishes only what consumers can read back as it was', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const unfaithful: Array<[string, unknown, string]> = [
    ['a Map', { cart: new Map([['sku', 1]]) }, '$.cart'],
    ['a Set', { tags: new Set(['a']) }, '$.tags'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['NaN', { total: Number.NaN }, '$.total'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '$[1]'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['a function', { id: 1, save: () => {} }, '$.save'],
    ['a symbol', { id: 1, tag: Symbol('t') }, '$.tag'],
    ['a class instance', { at: new Point(1) }, '$.at'],
    ['an Error', { error: new Error('boom') }, '$.error'],
  ];

  it.each(unfaithful)(
    'refuses %s with SerializationError naming where it sits; nothing is sent',
    async (_, value, path) => {
      const published: string[] = [];
      const adapter = closedAfterTest(memoryQueueAdapter());
      const publish = adapter.publish.bind(adapter);
      adapter.publish = async (topic, message, options) => {
        published.push(message.body);
        await publish(topic, message, options);
      };
      const queue = new MessageQueue({ adapter });
      const err = (await caught(() => queue.publish('t', value))) as SerializationError;
      expect(err).toBeInstanceOf(SerializationError);
      expect(err.code).toBe('ERR_SERIALIZE');
      expect(err.message).toMatch(/^cannot publish /);
      expect(err.message).toContain(` at ${path}:`);
      expect(err.message).not.toMatch(/boom|sku/);
      expect(published).toEqual([]);
      await queue.close();
    },
  );

  it('publishes what reads back the same: undefined properties, -0, null-prototype objects, deep plain data', async () => {
    const queue = new MessageQueue();
    const got: unknown[] = [];
    await queue.consume('t', (m) => void got.push(m));
    let deep: unknown = 'leaf';
    for (let i = 0; i < 1_000; i++) deep = { d: [deep] };
    const values = [
      { a: 1, b: undefined },
      -0,
      Object.assign(Object.create(null), { a: 1 }),
      deep,
      'text',
      null,
    ];
    for (const value of values) await queue.publish('t', value);
    await until(() => got.length === values.length);
    expect(got).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
    await queue.close();
  });
});

describe('MessageQueue lifecycle (one rule: close only what it created)', () => {
  it('close() leaves an adapter passed in open, is idempotent, and a consumer is a Subscription', async () => {
    const adapter = closedAfterTest(memoryQueueAdapter());
    const queue = new MessageQueue({ adapter });
    const consumer = await queue.consume('t', () => {});
    expect(typeof consumer.unsubscribe).toBe('function');
    await consumer.unsubscribe();
    expect(consumer.closed).toBe(true);
    const first = queue.close();
    expect(queue.close()).toBe(first);
    await first;
    // Still open: another queue publishes and consumes through it.
    const other = new MessageQueue({ adapter });
    const got: unknown[] = [];
    await other.consume('t', (m) => void got.push(m));
    await other.publish('t', { n: 1 });
    await until(() => got.length === 1);
    await other.close();
  });

  it('takes its timestamps from clock', async () => {
    const clock = { now: () => 1_700_000_000_000, monotonic: () => 0 };
    const queue = new MessageQueue({ clock });
    let publishedAt = 0;
    await queue.consume('t', (_m, ctx) => {
      publishedAt = ctx.publishedAt ?? -1;
    });
    await queue.publish('t', 1);
    await until(() => publishedAt !== 0);
    expect(publishedAt).toBe(1_700_000_000_000);
    await queue.close();
  });

  it('refuses an adapter of the earlier contract (consume resolving to { close }) loudly, and stops it', async () => {
    const adapter = closedAfterTest(memoryQueueAdapter());
    let stopped = false;
    const legacy = {
      publish: adapter.publish.bind(adapter),
      close: () => adapter.close(),
      consume: async (...args: Parameters<typeof adapter.consume>) => {
        const sub = await adapter.consume(...args);
        return {
          close: async () => {
            stopped = true;
            await sub.unsubscribe();
          },
        };
      },
    };
    const queue = new MessageQueue({ adapter: legacy as never });
    await expect(queue.consume('t', () => {})).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'adapter',
      message: expect.stringContaining('unsubscribe'),
    });
    await until(() => stopped);
    await queue.close();
  });
});
