/**
 * Hostile input to every public method and constructor of MessageQueue and
 * of the queue adapter factories (memory, Redis Streams, RabbitMQ): wrong
 * types, unknown option keys, bare numbers where options go, huge and
 * hostile values (control characters, lone surrogates, pollution keys,
 * escaped `\u005f_proto__`, NaN/Infinity/-0/2^53+, deep and circular
 * objects, Map/Set/Date/BigInt, functions). Each call must end in a typed
 * ScaleoutError with a code, or a documented success: never a raw
 * TypeError, a crash, a hang or an unhandled rejection. What succeeds must
 * arrive as it was written: a value JSON would change (a Map, a Date, NaN,
 * a function...) is refused with ERR_SERIALIZE, never delivered changed.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import {
  isScaleoutError,
  MessageQueue,
  memoryQueueAdapter,
  type QueueAdapter,
  type QueueOutgoingMessage,
} from '../../src/index.js';
import { assertFaithful } from '../../src/internal/faithful.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { amqpUrl } from '../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

/** QUEUE_HOSTILE_SCALE=10 tries ten times as many inputs (for a longer hunt). */
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.QUEUE_HOSTILE_SCALE ?? 1)));

/** Inputs tried per primitive (fast-check runs, shrinking included), printed at the end. */
const tried: Record<string, number> = {};
const count = (name: string) => {
  tried[name] = (tried[name] ?? 0) + 1;
};

// ---- hostile values -------------------------------------------------------

function circular(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}

class Order {
  id = 1;
}

const specials = (): unknown[] => [
  undefined,
  null,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  10n,
  Symbol('s'),
  () => 1,
  async () => 1,
  new Map([['a', 1]]),
  new Set([1]),
  new Date(0),
  new Date(Number.NaN),
  /re/g,
  new Error('boom'),
  Buffer.from('buffer'),
  new Uint8Array(3),
  Object.create(null) as unknown,
  new Order(),
  Promise.resolve(1),
  new Proxy({}, {}),
  {
    get boom() {
      throw new Error('getter');
    },
    // fast-check prints counterexamples through this, not through the getter.
    [fc.toStringMethod]: () => '{ get boom() { throw } }',
  },
  {
    toJSON() {
      throw new Error('toJSON');
    },
  },
  JSON.parse('{"__proto__":{"admin":true}}'),
  JSON.parse('{"a":{"\\u005f_proto__":{"admin":true}}}'),
  { constructor: { prototype: { admin: true } } },
  circular(),
  nested(2_000),
  nested(20_000),
  'x'.repeat(2 * 1024 * 1024),
  '\u0000\u001f\u007f',
  '\uD800',
  '__proto__',
  'amq.gen-1',
  'x'.repeat(201),
  '€'.repeat(120),
  '',
  ' ',
  'a\nb',
];

const special = fc.constantFrom(...specials());
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\nb',
    '__proto__',
    'constructor',
    'amq.x',
    'x'.repeat(201),
    '€'.repeat(120),
    '\uD800',
  ),
);
const anything = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});
const hostileValue = fc.oneof(
  { weight: 3, arbitrary: anything },
  { weight: 2, arbitrary: special },
  hostileString,
);

/** An options object: known keys with hostile values, unknown keys, or no object at all. */
function hostileOptions(known: readonly string[]): fc.Arbitrary<unknown> {
  const record = fc.dictionary(fc.constantFrom(...known), hostileValue, { maxKeys: known.length });
  return fc.oneof(
    { weight: 3, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc.tuple(record, hostileString, hostileValue).map(([r, k, v]) => ({ ...r, [k]: v })),
    },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1, 3600, 30)) },
    { weight: 1, arbitrary: hostileValue },
  );
}

const QUEUE_KEYS = [
  'adapter',
  'serializer',
  'logger',
  'maxDeliveries',
  'prefetch',
  'retryBaseMs',
  'retryMaxMs',
  'closeTimeoutMs',
  'deadLetterSuffix',
  'maxMessageBytes',
];
const PUBLISH_KEYS = ['persistent', 'headers', 'messageId', 'signal'];
const CONSUME_KEYS = ['group', 'prefetch', 'maxDeliveries', 'deadLetter'];
const ADAPTER_CONSUME_KEYS = ['group', 'prefetch', 'deadLetterTopic', 'onError'];
const REDIS_KEYS = [
  'connection',
  'prefix',
  'consumerName',
  'blockMs',
  'claimIdleMs',
  'sweepIntervalMs',
  'maxLength',
  'logger',
  'clock',
];
const AMQP_KEYS = [
  'url',
  'connection',
  'nodeOrder',
  'connectTimeoutMs',
  'queueType',
  'deliveryLimit',
  'prefix',
  'reconnectBaseMs',
  'reconnectMaxMs',
  'maxBufferedPublishes',
  'publishTimeoutMs',
  'closeTimeoutMs',
  'adoptExistingQueues',
  'logger',
];

/** A copy of `o` with `extra` set, copying getters as getters (a spread would run them). */
function withKeys(o: object, extra: Record<string, unknown>): Record<string, unknown> {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(o)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(extra)) Object.defineProperty(copy, k, { value: v, enumerable: true });
  return copy;
}

// ---- outcomes ---------------------------------------------------------------

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A failure must be a ScaleoutError with a code (from `codes` when given), naming no secret. */
function expectTyped(o: Outcome, codes?: readonly string[]): void {
  if (o.ok) return;
  const err = o.error;
  if (!isScaleoutError(err)) {
    throw new Error(`not a typed error: ${String((err as Error)?.stack ?? err)}`);
  }
  expect(err.code).toMatch(/^ERR_[A-Z_]+$/);
  if (codes !== undefined) expect(codes, err.message).toContain(err.code);
  expect(err.message).not.toContain('s3cret');
}

/**
 * Whether an options value must be refused whatever else is wrong: anything
 * but undefined or a plain object (a bare number, a string, an array, a
 * class instance), or a plain object with a key the method does not know.
 */
function mustRefuse(value: unknown, known: readonly string[]): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return true;
  return Object.keys(value).some((k) => !known.includes(k));
}

/** Refused (typed) when {@link mustRefuse}; otherwise typed or a success. */
function expectOptionsOutcome(
  o: Outcome,
  options: unknown,
  known: readonly string[],
  codes: readonly string[],
): void {
  expectTyped(o, codes);
  if (mustRefuse(options, known))
    expect(o.ok, 'an options value that must be refused was accepted').toBe(false);
}

const PUBLISH_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_OPTIONS',
  'ERR_SERIALIZE',
  'ERR_UNSAFE_PAYLOAD',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_ABORTED',
];
const CONSUME_CODES = ['ERR_INVALID_ARGUMENT', 'ERR_INVALID_OPTIONS'];

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return check();
};

function validMessage(overrides: Partial<QueueOutgoingMessage> = {}): QueueOutgoingMessage {
  return {
    id: 'm-1',
    body: '{"ok":true}',
    headers: {},
    persistent: true,
    timestamp: Date.now(),
    ...overrides,
  };
}

const hostileMessage = fc.oneof(
  hostileValue,
  fc
    .record({
      id: fc.oneof(hostileString, hostileValue),
      body: fc.oneof(hostileString, hostileValue),
      headers: fc.oneof(fc.dictionary(hostileString, hostileString, { maxKeys: 3 }), hostileValue),
      persistent: fc.oneof(fc.boolean(), hostileValue),
      timestamp: fc.oneof(fc.nat(), hostileValue),
    })
    .map((m) => m as unknown),
  fc.record({ id: hostileString, body: hostileString }).map((m) => validMessage(m)),
  fc
    .dictionary(hostileString, hostileString, { maxKeys: 3 })
    .map((headers) => validMessage({ headers, id: `h-${randomBytes(4).toString('hex')}` })),
);
const hostileConsumeOptions = hostileOptions(ADAPTER_CONSUME_KEYS);

// ---- MessageQueue -----------------------------------------------------------

describe('MessageQueue under hostile input (memory adapter)', () => {
  it('constructor: typed refusal or a working queue', async () => {
    await fc.assert(
      fc.asyncProperty(hostileOptions(QUEUE_KEYS), async (options) => {
        count('MessageQueue constructor');
        const o = await outcome(() => new MessageQueue(options as never));
        expectOptionsOutcome(o, options, QUEUE_KEYS, ['ERR_INVALID_OPTIONS']);
        if (o.ok) await (o.value as MessageQueue).close();
      }),
      { numRuns: runs(400) },
    );
  });

  it('publish: typed refusal, or delivered as it was written', async () => {
    const queue = new MessageQueue();
    const got = new Map<string, unknown>();
    await queue.consume('faithful', (m, ctx) => void got.set(ctx.id, m), { deadLetter: false });
    try {
      await fc.assert(
        fc.asyncProperty(hostileValue, hostileOptions(PUBLISH_KEYS), async (message, options) => {
          count('MessageQueue.publish');
          const o = await outcome(() => queue.publish('faithful', message, options as never));
          expectOptionsOutcome(o, options, PUBLISH_KEYS, PUBLISH_CODES);
          if (!o.ok) return;
          const id = o.value as string;
          expect(await until(() => got.has(id))).toBe(true);
          expect(got.get(id)).toEqual(JSON.parse(JSON.stringify(message)));
          // Nothing changed on the way (the check publish applies, on what arrived).
          assertFaithful(message, got.get(id), 'publish');
          got.delete(id);
        }),
        { numRuns: runs(500) },
      );
    } finally {
      await queue.close();
    }
  });

  it('publish: hostile topics and option objects', async () => {
    const queue = new MessageQueue();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileString, hostileValue),
          hostileValue,
          hostileOptions(PUBLISH_KEYS),
          async (topic, m, o) => {
            count('MessageQueue.publish');
            expectOptionsOutcome(
              await outcome(() => queue.publish(topic as never, m, o as never)),
              o,
              PUBLISH_KEYS,
              PUBLISH_CODES,
            );
          },
        ),
        { numRuns: runs(300) },
      );
    } finally {
      await queue.close();
    }
  });

  it('consume and consumeDeadLetters: typed refusal or a consumer that closes', async () => {
    const queue = new MessageQueue();
    const handler = fc.oneof(
      fc.constant(() => {}),
      hostileValue,
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileString, hostileValue),
          handler,
          hostileOptions(CONSUME_KEYS),
          fc.boolean(),
          async (topic, h, options, dead) => {
            count(dead ? 'MessageQueue.consumeDeadLetters' : 'MessageQueue.consume');
            const o = await outcome(() =>
              dead
                ? queue.consumeDeadLetters(topic as never, h as never, options as never)
                : queue.consume(topic as never, h as never, options as never),
            );
            expectOptionsOutcome(o, options, dead ? ['deadLetter', 'prefetch'] : CONSUME_KEYS, CONSUME_CODES);
            if (o.ok) await (o.value as { close(): Promise<void> }).close();
          },
        ),
        { numRuns: runs(300) },
      );
    } finally {
      await queue.close();
    }
  });

  it("a consumer's close / unsubscribe options: typed refusal, or a stop that ends", async () => {
    const queue = new MessageQueue();
    try {
      await fc.assert(
        fc.asyncProperty(hostileOptions(['signal']), fc.boolean(), async (options, viaClose) => {
          count('MessageConsumer.close');
          const consumer = await queue.consume('t', () => {});
          const o = await outcome(() =>
            viaClose ? consumer.close(options as never) : consumer.unsubscribe(options as never),
          );
          expectOptionsOutcome(o, options, ['signal'], ['ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT']);
          await consumer.close();
        }),
        { numRuns: runs(200) },
      );
    } finally {
      await queue.close();
    }
  });

  it("the RabbitMQ adapter's close() options: typed refusal, or a close that ends", async () => {
    await fc.assert(
      fc.asyncProperty(hostileOptions(['signal']), async (options) => {
        count('AmqpQueueAdapter.close');
        // Never used: nothing dials the unreachable port.
        const adapter = amqpQueueAdapter({ url: 'amqp://127.0.0.1:1' });
        const o = await outcome(() => adapter.close(options as never));
        expectOptionsOutcome(o, options, ['signal'], ['ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT']);
        await adapter.close();
        expect(adapter.connectionState).toBe('closed');
      }),
      { numRuns: runs(200) },
    );
  });

  it('on / off / close: typed refusal of unknown events and non-functions; close is idempotent', async () => {
    const queue = new MessageQueue();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('retry', 'dead-letter', 'error'), hostileString, hostileValue),
        fc.oneof(
          fc.constant(() => {}),
          hostileValue,
        ),
        async (event, listener) => {
          count('MessageQueue.on/off');
          const on = await outcome(() => queue.on(event as never, listener as never));
          expectTyped(on, ['ERR_INVALID_ARGUMENT']);
          if (on.ok) (on.value as () => void)();
          expectTyped(await outcome(() => queue.off(event as never, listener as never)), [
            'ERR_INVALID_ARGUMENT',
          ]);
        },
      ),
      { numRuns: runs(200) },
    );
    await queue.close();
    await queue.close();
    count('MessageQueue.close');
    expectTyped(await outcome(() => queue.publish('t', 1)), ['ERR_CLOSED']);
  });
});

// ---- adapter factories and adapters -----------------------------------------

describe('queue adapters under hostile input', () => {
  let server: RedisServer;
  const redisPrefix = uniquePrefix('i16-queue-hostile');
  const amqpPrefix = `i16-queue.hostile.${randomBytes(6).toString('hex')}.`;
  const amqpTopics = new Set<string>();

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    // Each name on its own (a refused name, too long for AMQP, closes the channel).
    const connection = await connect(amqpUrl());
    connection.on('error', () => {});
    const names: Array<readonly ['queue' | 'exchange', string]> = [...amqpTopics].map((t) => [
      'queue',
      `${amqpPrefix}${t}`,
    ]);
    names.push(
      ['exchange', `${amqpPrefix}scaleout.topics`],
      ['exchange', `${amqpPrefix}scaleout.dead-letter`],
    );
    for (const [kind, name] of names) {
      if (Buffer.byteLength(name) > 255) continue;
      const ch = await connection.createChannel();
      ch.on('error', () => {});
      await (kind === 'queue' ? ch.deleteQueue(name) : ch.deleteExchange(name)).catch(() => {});
      await ch.close().catch(() => {});
    }
    await connection.close();
    const admin = server.client();
    await deleteKeysWithPrefix(admin, redisPrefix);
    await server?.stop();
    console.log(`queue hostile inputs tried: ${JSON.stringify(tried)}`);
  });

  it('factories: typed refusal or an adapter that closes (nothing connects from a refused call)', async () => {
    const connection = fc.oneof(
      fc.constantFrom(
        'redis://127.0.0.1:1',
        '',
        'http://u:s3cret@x',
        'amqp://u:s3cret@127.0.0.1:1',
        ['amqp://u:s3cret@127.0.0.1:1', 'amqp://u:s3cret@127.0.0.1:2'],
        ['amqp://u:s3cret@127.0.0.1:1', 'amqp://u:s3cret@127.0.0.1:1'],
        ['amqp://127.0.0.1:1', 'http://u:s3cret@x', 42],
        42,
        null,
        [],
        new Map(),
        () => 1,
      ),
      hostileValue,
    );
    const redisOptions = fc.oneof(
      hostileOptions(REDIS_KEYS),
      fc
        .tuple(
          hostileOptions(['prefix', 'consumerName', 'blockMs', 'claimIdleMs', 'maxLength']),
          hostileValue,
        )
        .map(([o, v]) =>
          typeof o === 'object' && o !== null
            ? withKeys(o, { connection: `redis://127.0.0.1:${server.port}`, extra: v })
            : o,
        ),
    );
    const amqpOptions = fc.oneof(
      hostileOptions(AMQP_KEYS),
      fc.record(
        { url: fc.oneof(connection, hostileString), prefix: hostileValue },
        { requiredKeys: ['url'] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        hostileValue,
        redisOptions,
        amqpOptions,
        async (which, memory, redis, amqp) => {
          const name = ['memoryQueueAdapter', 'redisStreamsQueueAdapter', 'amqpQueueAdapter'][which]!;
          count(name);
          const o = await outcome(() => {
            if (which === 0) return memoryQueueAdapter(memory as never);
            // A hostile connection object would dial the default port: only
            // strings and non-objects are hostile here, objects get the test server.
            if (which === 1) {
              const r = redis as { connection?: unknown } | undefined;
              if (
                typeof r === 'object' &&
                r !== null &&
                typeof r.connection === 'object' &&
                r.connection !== null
              ) {
                return redisStreamsQueueAdapter(
                  withKeys(r, { connection: `redis://127.0.0.1:${server.port}` }) as never,
                );
              }
              return redisStreamsQueueAdapter(redis as never);
            }
            return amqpQueueAdapter(amqp as never);
          });
          const known = [[], REDIS_KEYS, AMQP_KEYS][which]!;
          expectOptionsOutcome(o, [memory, redis, amqp][which], known, ['ERR_INVALID_OPTIONS']);
          if (o.ok) await (o.value as QueueAdapter).close();
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('memory adapter: publish/consume with hostile arguments', async () => {
    const adapter = memoryQueueAdapter();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileString, hostileValue),
          hostileMessage,
          hostileConsumeOptions,
          fc.oneof(
            fc.constant(() => {}),
            hostileValue,
          ),
          async (topic, message, options, onDelivery) => {
            count('MemoryQueueAdapter.publish/consume');
            expectTyped(
              await outcome(() => adapter.publish(topic as never, message as never)),
              PUBLISH_CODES,
            );
            const c = await outcome(() =>
              adapter.consume(topic as never, onDelivery as never, options as never),
            );
            expectOptionsOutcome(c, options, ADAPTER_CONSUME_KEYS, CONSUME_CODES);
            if (c.ok) await (c.value as { close(): Promise<void> }).close();
          },
        ),
        { numRuns: runs(300) },
      );
    } finally {
      await adapter.close();
    }
  });

  it('Redis Streams adapter (real redis-server): hostile publish and consume end typed, never hang', async () => {
    const adapter = redisStreamsQueueAdapter({
      connection: server.url,
      prefix: redisPrefix,
      blockMs: 20,
      sweepIntervalMs: 20,
    });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileString, hostileValue),
          hostileMessage,
          hostileConsumeOptions,
          async (topic, message, options) => {
            count('RedisStreamsQueueAdapter.publish/consume');
            expectTyped(
              await outcome(() => adapter.publish(topic as never, message as never)),
              PUBLISH_CODES,
            );
            const c = await outcome(() => adapter.consume(topic as never, () => {}, options as never));
            expectOptionsOutcome(c, options, ADAPTER_CONSUME_KEYS, CONSUME_CODES);
            if (c.ok) await (c.value as { close(): Promise<void> }).close();
          },
        ),
        { numRuns: runs(80) },
      );
    } finally {
      await adapter.close();
    }
  }, 120_000);

  it('RabbitMQ adapter (shared broker): hostile topics, ids and headers end typed, never in a timeout', async () => {
    const adapter = amqpQueueAdapter({ url: amqpUrl(), prefix: amqpPrefix, publishTimeoutMs: 10_000 });
    const topic = fc.oneof(
      fc.constantFrom('ok', 'amq.x', 'x'.repeat(200), '€'.repeat(90), '€'.repeat(60), 'a/b', '#', '*', 'ü'),
      fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.startsWith('amq.')),
    );
    const message = fc.oneof(
      fc
        .record({
          id: fc.constantFrom('i', '€'.repeat(90), 'x'.repeat(200)),
          body: fc.constantFrom('{}', '"x"', '\uD800'),
        })
        .map((m) => validMessage(m)),
      fc
        .dictionary(
          fc.oneof(
            fc.constantFrom('k'.repeat(128), '€'.repeat(100), 'CC', 'BCC'),
            fc.string({ minLength: 1, maxLength: 10 }),
          ),
          fc.string({ maxLength: 20 }),
          { maxKeys: 3 },
        )
        .map((headers) => validMessage({ headers })),
      hostileMessage,
    );
    try {
      await fc.assert(
        fc.asyncProperty(topic, message, async (t, m) => {
          count('AmqpQueueAdapter.publish');
          if (typeof t === 'string') amqpTopics.add(t);
          // ERR_TIMEOUT is not among the codes: a refusal must not wait for the publish timeout.
          expectTyped(await outcome(() => adapter.publish(t, m as never)), PUBLISH_CODES);
        }),
        { numRuns: runs(50) },
      );
    } finally {
      await adapter.close();
    }
  }, 300_000);
});
