/**
 * Foreign data in every key family and queue the queue adapters use,
 * written with raw clients (ioredis, amqplib) while a consumer runs: the
 * consumer keeps going, every junk message is dead-lettered with its
 * original payload and a true reason (or delivered faithfully where it is
 * a readable message), the good messages all arrive exactly as published,
 * nothing is lost, nothing crashes or hangs.
 *
 * Redis Streams key families (prefix P): the topic stream `P<topic>` and
 * its consumer groups; the dead-letter stream `P<topic>.dead` and its
 * `default` group. The adapter uses no other key. RabbitMQ: the group
 * queues `P<topic>`, the dead-letter queues `P<topic>.dead`.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../src/amqp.js';
import {
  CorruptDataError,
  type DeadLetter,
  isScaleoutError,
  MessageQueue,
  type QueueErrorEvent,
} from '../../src/index.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const entry = (fields: Record<string, string>) => Object.entries(fields).flat();
const huge = JSON.stringify({ blob: 'z'.repeat(2 * MiB) });
const escapedProto = '{"order":{"\\u005f_proto__":{"admin":true}}}';

interface Consumed {
  good: Array<{ value: unknown; id: string; n: number }>;
  dead: DeadLetter[];
  errors: QueueErrorEvent[];
}

/** Consumes `topic` and its dead letters; a body {"fail":true} always fails. */
async function consumeAll(queue: MessageQueue, topic: string): Promise<Consumed> {
  const seen: Consumed = { good: [], dead: [], errors: [] };
  queue.on('error', (e) => void seen.errors.push(e));
  await queue.consumeDeadLetters(topic, (d) => void seen.dead.push(d));
  await queue.consume(
    topic,
    (value, ctx) => {
      seen.good.push({ value, id: ctx.id, n: ctx.deliveryCount });
      if ((value as { fail?: unknown } | null)?.fail === true) throw new Error('always fails');
    },
    { maxDeliveries: 2 },
  );
  return seen;
}

const deadFor = (c: Consumed, id: string) => c.dead.filter((d) => d.id === id);

describe('Redis Streams: junk in every key family', () => {
  let server: RedisServer;
  let raw: Redis;
  const P = uniquePrefix('i16-queue-foreign');

  beforeAll(async () => {
    server = await startRedisServer();
    raw = server.client();
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(raw, P);
    await server?.stop();
  });

  const open = () =>
    new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: server.url,
          prefix: P,
          // Long enough that a loaded machine does not reclaim an entry while it is dead-lettered.
          claimIdleMs: 1_500,
          sweepIntervalMs: 50,
          blockMs: 50,
        }),
      ),
      retryBaseMs: 1,
      retryMaxMs: 5,
    });

  it('the topic stream: junk entries are dead-lettered with all their fields and a true reason; good ones all arrive', async () => {
    const queue = open();
    const topic = 'orders';
    const key = `${P}${topic}`;
    try {
      const c = await consumeAll(queue, topic);
      const t = String(Date.now());
      // [what it is, fields written, the reason the dead letter must give]
      const shapeJunk: Array<[string, string[], RegExp]> = [
        ['a foreign producer', entry({ data: '{"orderId":1}' }), /unexpected field "data"/],
        ['an empty field', ['', ''], /unexpected field ""/],
        ['only a body', entry({ b: '{"x":1}' }), /missing field "i"/],
        ['an extra field', entry({ i: 'x-1', b: '{}', h: '{}', t, z: '1' }), /unexpected field "z"/],
        ['a repeated field', ['i', 'x-2', 'b', '1', 'b', '2', 'h', '{}', 't', t], /field "b" appears twice/],
        ['headers not JSON', entry({ i: 'x-3', b: '{}', h: 'not json', t }), /field "h" is not JSON/],
        ['headers an array', entry({ i: 'x-4', b: '{}', h: '[1,2]', t }), /field "h" is not a JSON object/],
        ['a header not a string', entry({ i: 'x-5', b: '{}', h: '{"a":1}', t }), /not a string/],
        [
          'an escaped __proto__ header',
          entry({ i: 'x-6', b: '{}', h: '{"\\u005f_proto__":"x"}', t }),
          /__proto__/,
        ],
        ['a junk time', entry({ i: 'x-7', b: '{}', h: '{}', t: '1e3' }), /field "t"/],
        ['an id with a control character', entry({ i: 'x\u00008', b: '{}', h: '{}', t }), /field "i"/],
      ];
      const entryIds = new Map<string, string>();
      for (const [what, fields] of shapeJunk)
        entryIds.set(what, (await raw.xadd(key, '*', ...fields)) as string);
      // Readable entries whose body is junk: dead-lettered with the body as written.
      await raw.xadd(key, '*', ...entry({ i: 'trunc-1', b: '{"orderId": 1,', h: '{}', t }));
      await raw.xadd(key, '*', ...entry({ i: 'proto-1', b: escapedProto, h: '{}', t }));
      await raw.xadd(key, '*', ...entry({ i: 'huge-1', b: huge, h: '{}', t }));
      // Forged retry counters: not trusted (the pending list counts).
      await raw.xadd(
        key,
        '*',
        ...entry({ i: 'forged-1', b: '{"fail":true}', h: '{"x-scaleout-failures":"-1000000"}', t }),
      );
      await raw.xadd(
        key,
        '*',
        ...entry({ i: 'forged-2', b: '{"ok":2}', h: '{"x-scaleout-failures":"999999"}', t }),
      );
      const published: string[] = [];
      for (let i = 0; i < 20; i++) published.push(await queue.publish(topic, { good: i }));

      const expectedDead = shapeJunk.length + 4;
      await until('every junk entry dead-lettered, every good message delivered', () => {
        return c.dead.length >= expectedDead && published.every((id) => c.good.some((g) => g.id === id));
      });
      // Good messages: each exactly once, exactly as published.
      for (const [i, id] of published.entries()) {
        expect(c.good.filter((g) => g.id === id).map((g) => g.value)).toEqual([{ good: i }]);
      }
      // Foreign shapes: the dead letter holds every field verbatim, and why.
      for (const [what, fields, reason] of shapeJunk) {
        const entryId = entryIds.get(what)!;
        const dead = c.dead.filter((d) => d.body === JSON.stringify(fields));
        expect(dead, what).toHaveLength(1);
        expect(dead[0]!.reason, what).toBe('unparseable');
        expect(dead[0]!.error.name, what).toBe('CorruptDataError');
        expect(dead[0]!.error.message, what).toMatch(reason);
        expect(dead[0]!.headers['x-scaleout-body-format'], what).toBe('redis-stream-fields');
        expect([entryId, 'x-1', 'x-2', 'x-3', 'x-4', 'x-5', 'x-6', 'x-7']).toContain(dead[0]!.id);
      }
      expect(deadFor(c, 'trunc-1')[0]).toMatchObject({ body: '{"orderId": 1,', reason: 'unparseable' });
      expect(deadFor(c, 'trunc-1')[0]!.error.message).toMatch(/malformed JSON/);
      expect(deadFor(c, 'proto-1')[0]!.body).toBe(escapedProto);
      expect(deadFor(c, 'proto-1')[0]!.error.message).toMatch(/__proto__/);
      expect(deadFor(c, 'huge-1')[0]!.body).toBe(huge);
      expect(deadFor(c, 'huge-1')[0]!.error.name).toBe('PayloadTooLargeError');
      // Forged counters: tried exactly maxDeliveries times / delivered once with count 1.
      expect(c.good.filter((g) => g.id === 'forged-1').map((g) => g.n)).toEqual([1, 2]);
      expect(deadFor(c, 'forged-1')[0]).toMatchObject({ reason: 'handler-error', deliveries: 2 });
      expect(c.good.filter((g) => g.id === 'forged-2').map((g) => g.n)).toEqual([1]);
      expect(c.dead).toHaveLength(expectedDead);
      // Nothing stuck: the group's pending list drains.
      await until(
        'no pending entry',
        async () => Number(((await raw.xpending(key, 'default')) as [number])[0]) === 0,
      );
      // Junk handled without a failure to report.
      expect(c.errors).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('bytes that are not UTF-8: refused as CorruptDataError and kept as bytes (base64), never read as U+FFFD', async () => {
    const queue = open();
    const topic = 'binary';
    const key = `${P}${topic}`;
    try {
      const c = await consumeAll(queue, topic);
      const t = String(Date.now());
      const notUtf8 = Buffer.from([0x22, 0xff, 0xfe, 0x22]); // "<0xff 0xfe>"
      const latin1 = Buffer.concat([Buffer.from('{"name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}')]);
      const foreign = Buffer.from([0x00, 0xff, 0x80, 0x41]);
      // scaleout's layout, a body that is not UTF-8: id, headers and time kept.
      await raw.xadd(key, '*', 'i', 'bin-1', 'b', notUtf8, 'h', '{"tenant":"acme"}', 't', t);
      await raw.xadd(key, '*', 'i', 'bin-2', 'b', latin1, 'h', '{}', 't', t);
      // A foreign entry with a binary value: every field kept, in base64.
      const foreignId = (await raw.xadd(key, '*', 'data', foreign)) as string;
      // A header that is not UTF-8: the entry is not scaleout's.
      await raw.xadd(key, '*', 'i', 'bin-3', 'b', '{}', 'h', Buffer.from([0x7b, 0xff, 0x7d]), 't', t);
      // UTF-8 text that is not ASCII (a BOM, é, an emoji, U+FFFD itself) arrives as written.
      const text = { s: '\ufeffJosé 🎉 \ufffd' };
      const good = await queue.publish(topic, text);
      await until('four dead letters and the good message', () => c.dead.length === 4 && c.good.length === 1);
      expect(c.good).toEqual([{ value: text, id: good, n: 1 }]);
      for (const [id, bytes] of [
        ['bin-1', notUtf8],
        ['bin-2', latin1],
      ] as const) {
        const dead = deadFor(c, id);
        expect(dead, id).toHaveLength(1);
        expect(dead[0]).toMatchObject({ reason: 'unparseable', error: { name: 'CorruptDataError' } });
        expect(dead[0]!.error.message).toMatch(/field "b" is not UTF-8/);
        expect(dead[0]!.headers['x-scaleout-body-format']).toBe('base64');
        expect(Buffer.from(dead[0]!.body, 'base64')).toEqual(bytes);
      }
      expect(deadFor(c, 'bin-1')[0]!.headers.tenant).toBe('acme');
      const [foreignDead] = deadFor(c, foreignId);
      expect(foreignDead!.headers['x-scaleout-body-format']).toBe('redis-stream-fields-base64');
      expect((JSON.parse(foreignDead!.body) as string[]).map((f) => Buffer.from(f, 'base64'))).toEqual([
        Buffer.from('data'),
        foreign,
      ]);
      const [header] = deadFor(c, 'bin-3');
      expect(header!.error.message).toMatch(/field "h" is not UTF-8/);
      expect(header!.headers['x-scaleout-body-format']).toBe('redis-stream-fields-base64');
      expect(Buffer.from((JSON.parse(header!.body) as string[])[5]!, 'base64')).toEqual(
        Buffer.from([0x7b, 0xff, 0x7d]),
      );
      await until(
        'no pending entry',
        async () => Number(((await raw.xpending(key, 'default')) as [number])[0]) === 0,
      );
      expect(c.errors).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('consumer-group state: a foreign consumer holding entries, a deleted entry in the pending list, a destroyed group', async () => {
    const queue = open();
    const topic = 'groups';
    const key = `${P}${topic}`;
    try {
      await queue.publish(topic, { n: 'held' }); // creates the stream and group 'default'
      // A foreign consumer of the group reads the entry (and one more) and never acknowledges.
      const doomed = await queue.publish(topic, { n: 'deleted' });
      await raw.xreadgroup('GROUP', 'default', 'foreigner', 'COUNT', 10, 'STREAMS', key, '>');
      const all = (await raw.xrange(key, '-', '+')) as Array<[string, string[]]>;
      const doomedEntry = all.find(([, f]) => f.includes(doomed))![0];
      await raw.xdel(key, doomedEntry); // pending for the foreigner, gone from the stream
      await raw.xgroup('CREATECONSUMER', key, 'default', 'junk\u0001consumer');
      const c = await consumeAll(queue, topic);
      await until('the held entry reclaimed', () =>
        c.good.some((g) => (g.value as { n: string }).n === 'held'),
      );
      expect(c.good.find((g) => (g.value as { n: string }).n === 'held')!.n).toBeGreaterThanOrEqual(2);
      // The group destroyed under the running consumer: recreated, consuming goes on.
      await raw.xgroup('DESTROY', key, 'default');
      const after = await queue.publish(topic, { n: 'after' });
      await until('a message after the group was destroyed', () => c.good.some((g) => g.id === after));
      expect(c.good.some((g) => g.id === doomed)).toBe(false);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('the stream key as another type: publish/consume refuse with CorruptDataError; a running consumer reports and carries on', async () => {
    const queue = open();
    try {
      await raw.hset(`${P}hash-topic`, 'a', '1');
      for (const call of [
        () => queue.publish('hash-topic', 1),
        () => queue.consume('hash-topic', () => {}),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CorruptDataError);
        expect((err as CorruptDataError).key).toBe(`${P}hash-topic`);
      }
      const c = await consumeAll(queue, 'flip');
      await queue.publish('flip', { n: 1 });
      await until('the first message', () => c.good.length === 1);
      // Atomically: the consumer recreates a deleted stream at once.
      await raw.multi().del(`${P}flip`).lpush(`${P}flip`, 'junk').exec();
      await until('a data error reported', () =>
        c.errors.some((e) => e.id === undefined && isScaleoutError(e.error, 'ERR_CORRUPT_DATA')),
      );
      expect(c.errors.every((e) => !isScaleoutError(e.error, 'ERR_CONNECTION'))).toBe(true);
      await raw.del(`${P}flip`);
      await queue.publish('flip', { n: 2 });
      await until('the consumer carries on', () => c.good.length === 2);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('the dead-letter stream: junk in it is delivered to consumeDeadLetters as a foreign record; as another type, nothing is lost', async () => {
    const queue = open();
    const topic = 'dl';
    const deadKey = `${P}${topic}.dead`;
    try {
      const c = await consumeAll(queue, topic);
      const fields = entry({ data: 'someone else wrote this' });
      await raw.xadd(deadKey, '*', ...fields);
      await until('the junk dead letter', () => c.dead.length === 1);
      expect(c.dead[0]).toMatchObject({ reason: 'unknown', error: { name: 'CorruptDataError' } });
      expect(JSON.parse(c.dead[0]!.body)).toEqual(fields);
      // The dead-letter key turned into a string: a poison message cannot be
      // moved there, stays pending (reported), and is moved once the key is fixed.
      await raw.multi().del(deadKey).set(deadKey, 'junk').exec();
      const poison = await queue.publish(topic, { fail: true });
      await until('the failed move reported', () =>
        c.errors.some((e) => e.id === poison && isScaleoutError(e.error, 'ERR_CORRUPT_DATA')),
      );
      const failure = c.errors.find((e) => e.id === poison)!.error as CorruptDataError;
      expect(failure.key).toBe(deadKey);
      await raw.del(deadKey);
      await until(
        'the poison message dead-lettered after all',
        () => deadFor(c, poison).length === 1,
        30_000,
      );
      expect(deadFor(c, poison)[0]!.reason).toBe('handler-error');
    } finally {
      await queue.close();
    }
  }, 60_000);
});

describe('RabbitMQ: junk published into the queues with a raw amqplib channel', () => {
  it('no message_id, no content type, forged counters, non-JSON, huge, escaped __proto__, binary, duplicated ids: dead-lettered with the original or delivered faithfully', async () => {
    const fixture = await connectAmqp();
    const prefix = `${uniqueName('i16-queue-foreign')}.`;
    const topic = 'orders';
    const name = fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
      retryBaseMs: 1,
      retryMaxMs: 5,
    });
    const ch = await fixture.connection.createChannel();
    try {
      const c = await consumeAll(queue, topic);
      const send = (body: string | Buffer, props: Record<string, unknown> = {}) =>
        ch.sendToQueue(name, typeof body === 'string' ? Buffer.from(body) : body, {
          persistent: true,
          ...props,
        });
      const binary = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
      send('{"design":1}'); // the design's producer: no message_id, no content type
      send('{"design":1}'); // the same bytes again: a second message
      send('{"plain":true}', { messageId: 'ct-1', contentType: 'text/plain' });
      send('{"fail":true}', { messageId: 'forged-1', headers: { 'x-scaleout-failures': '-1000000' } });
      send('{"fail":true}', { messageId: 'forged-2', headers: { 'x-scaleout-failures': 2 ** 40 } });
      send('{"ok":3}', { messageId: 'forged-3', headers: { 'x-scaleout-failures': 'Infinity' } });
      // The broker's own counter, forged by a publisher (quorum queues, the default, count returns in it).
      send('{"fail":true}', { messageId: 'forged-4', headers: { 'x-delivery-count': 50 } });
      send('not json', { messageId: 'nojson-1' });
      send(huge, { messageId: 'huge-1' });
      send(escapedProto, { messageId: 'proto-1' });
      send(binary, { messageId: 'binary-1' });
      send('{"dup":"a"}', { messageId: 'dup-1' });
      send('{"dup":"b"}', { messageId: 'dup-1' });
      const published: string[] = [];
      for (let i = 0; i < 20; i++) published.push(await queue.publish(topic, { good: i }));

      await until(
        'all junk settled and all good messages delivered',
        () =>
          c.dead.length === 7 &&
          published.every((id) => c.good.some((g) => g.id === id)) &&
          c.good.filter((g) => (g.value as { design?: number }).design === 1).length === 2,
        30_000,
      );
      for (const [i, id] of published.entries()) {
        expect(c.good.filter((g) => g.id === id).map((g) => g.value)).toEqual([{ good: i }]);
      }
      // No message_id: each gets its own id, a UUID v7, never ''.
      const design = c.good.filter((g) => (g.value as { design?: number }).design === 1);
      expect(new Set(design.map((g) => g.id)).size).toBe(2);
      for (const g of design) expect(g.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      expect(c.good.find((g) => g.id === 'ct-1')!.value).toEqual({ plain: true });
      // Forged counters are not trusted.
      expect(c.good.filter((g) => g.id === 'forged-1').map((g) => g.n)).toEqual([1, 2]);
      expect(c.good.filter((g) => g.id === 'forged-2').map((g) => g.n)).toEqual([1, 2]);
      expect(c.good.filter((g) => g.id === 'forged-3').map((g) => g.n)).toEqual([1]);
      expect(c.good.filter((g) => g.id === 'forged-4').map((g) => g.n)).toEqual([1, 2]);
      // Duplicated message_id: both delivered, as the producer labelled them.
      expect(c.good.filter((g) => g.id === 'dup-1').map((g) => g.value)).toEqual([
        { dup: 'a' },
        { dup: 'b' },
      ]);
      // Dead letters keep the original body and say why.
      expect(deadFor(c, 'nojson-1')[0]).toMatchObject({ body: 'not json', reason: 'unparseable' });
      expect(deadFor(c, 'nojson-1')[0]!.error.message).toMatch(/malformed JSON/);
      expect(deadFor(c, 'huge-1')[0]!.body).toBe(huge);
      expect(deadFor(c, 'huge-1')[0]!.error.name).toBe('PayloadTooLargeError');
      expect(deadFor(c, 'proto-1')[0]!.body).toBe(escapedProto);
      expect(deadFor(c, 'proto-1')[0]!.error.message).toMatch(/__proto__/);
      const bin = deadFor(c, 'binary-1')[0]!;
      expect(bin.headers['x-scaleout-body-format']).toBe('base64');
      expect(Buffer.from(bin.body, 'base64')).toEqual(binary);
      expect(bin.error).toMatchObject({ name: 'CorruptDataError' });
      expect(bin.error.message).toMatch(/not UTF-8/);
      for (const id of ['forged-1', 'forged-2', 'forged-4']) {
        expect(deadFor(c, id)[0]).toMatchObject({ reason: 'handler-error', deliveries: 2 });
      }
      expect(c.dead).toHaveLength(7);
      // Nothing left behind, nothing failed to settle.
      await until('the queue drained', async () => (await ch.checkQueue(name)).messageCount === 0);
      expect(c.errors).toEqual([]);
    } finally {
      await queue.close();
      await ch.close().catch(() => {});
      await fixture.cleanup();
    }
  }, 90_000);

  for (const queueType of ['quorum', 'classic'] as const) {
    it(`a message_id publish would refuse (control character, too long) is dead-lettered, never handed to the handler (${queueType})`, async () => {
      const fixture = await connectAmqp();
      const prefix = `i16-queue.ids.${randomBytes(6).toString('hex')}.`;
      const name = fixture.track(`${prefix}t`);
      fixture.track(`${prefix}t.dead`);
      fixture.track(`${prefix}scaleout.topics`, 'exchange');
      fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
      const queue = new MessageQueue({
        adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix, queueType })),
        retryBaseMs: 1,
        retryMaxMs: 5,
      });
      const ch = await fixture.connection.createChannel();
      try {
        const c = await consumeAll(queue, 't');
        const bad = ['a\u0001b', 'tab\tid', 'del\u007f', 'x'.repeat(201)];
        for (const messageId of bad) {
          ch.sendToQueue(name, Buffer.from('{"n":1}'), { messageId, headers: { kept: 'yes' } });
        }
        // Ids publish accepts, at the edges: delivered.
        for (const messageId of [' ', 'y'.repeat(200), 'é🎉']) {
          ch.sendToQueue(name, Buffer.from('{"n":2}'), { messageId });
        }
        await until(
          'the dead letters and the good messages',
          () => c.dead.length === 4 && c.good.length === 3,
        );
        expect(c.good.map((g) => g.id).sort()).toEqual([' ', 'y'.repeat(200), 'é🎉'].sort());
        for (const d of c.dead) {
          expect(d).toMatchObject({
            reason: 'unparseable',
            body: '{"n":1}',
            error: { name: 'CorruptDataError' },
          });
          expect(d.error.message).toMatch(/message_id is not a message id/);
          expect(d.headers.kept).toBe('yes');
        }
        // The dead letter keeps the id as the producer wrote it.
        expect(c.dead.map((d) => d.id).sort()).toEqual([...bad].sort());
        await until('the queue drained', async () => (await ch.checkQueue(name)).messageCount === 0);
        expect(c.errors).toEqual([]);
      } finally {
        await queue.close();
        await ch.close().catch(() => {});
        await fixture.cleanup();
      }
    }, 30_000);
  }

  it('typed headers of a foreign message reach the handler as strings and survive a retry copy', async () => {
    const fixture = await connectAmqp();
    const prefix = `i16-queue.typed.${randomBytes(6).toString('hex')}.`;
    const name = fixture.track(`${prefix}t`);
    fixture.track(`${prefix}t.dead`);
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    const queue = new MessageQueue({
      adapter: closedAfterTest(amqpQueueAdapter({ url: amqpUrl(), prefix })),
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    const ch = await fixture.connection.createChannel();
    try {
      const seen: Array<Record<string, string>> = [];
      await queue.consume('t', (_v, ctx) => {
        seen.push({ ...ctx.headers });
        if (seen.length === 1) throw new Error('once');
      });
      ch.sendToQueue(name, Buffer.from('{}'), {
        messageId: 'typed-1',
        headers: { n: 5, b: true, list: [1, 'a'], table: { x: 1 }, s: 'text' },
      });
      await until('two deliveries', () => seen.length === 2);
      const expected = { n: '5', b: 'true', list: '[1,"a"]', table: '{"x":1}', s: 'text' };
      expect(seen[0]).toMatchObject(expected);
      expect(seen[1]).toMatchObject(expected);
    } finally {
      await queue.close();
      await ch.close().catch(() => {});
      await fixture.cleanup();
    }
  }, 30_000);
});
