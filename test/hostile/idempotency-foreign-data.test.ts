/**
 * Promise checked: junk that another program writes (with a raw ioredis
 * client) into the keys of the Redis idempotency store, in every key family
 * (`fn:<key>` of run(), `http:<digest>` of the middleware,
 * `queue:<topic>:<group>:<id>` of the queue's dedupe), is never replayed,
 * never runs the work as if the key were free, never reads as an outage
 * (ERR_CONNECTION) and never crashes: the primitive answers with a typed
 * data error (ERR_CORRUPT_DATA, or ERR_UNSAFE_PAYLOAD for a pollution key
 * in a kept value), the junk stays as it was, and other keys keep working.
 * A queue message whose mark is junk goes to the dead letters with the
 * error (nothing lost, the handler not called again).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisIdempotencyStore } from '../../src/adapters/redis/idempotency.js';
import { escapeGlob } from '../../src/adapters/redis/keys.js';
import { isScaleoutError } from '../../src/errors.js';
import { idempotencyHttpHandler } from '../../src/idempotency/http-idempotency.js';
import { Idempotency, MessageQueue } from '../../src/index.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

/** Everything about a key, to check that nothing was changed. */
async function snapshot(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  const ttl = await redis.pttl(key);
  const ttlKind = ttl === -1 ? 'none' : ttl === -2 ? 'gone' : 'set';
  switch (type) {
    case 'string':
      return `string:${(await redis.get(key))?.length}:${ttlKind}`;
    case 'hash':
      return `hash:${JSON.stringify(Object.entries(await redis.hgetall(key)).sort()).length}:${ttlKind}`;
    case 'list':
      return `list:${JSON.stringify(await redis.lrange(key, 0, -1))}`;
    case 'set':
      return `set:${JSON.stringify((await redis.smembers(key)).sort())}`;
    case 'zset':
      return `zset:${JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))}`;
    case 'stream':
      return `stream:${await redis.xlen(key)}`;
    default:
      return type;
  }
}

const envelope = (v: unknown) => JSON.stringify(v);
const httpEnvelope = (over: Record<string, unknown> = {}) =>
  envelope({
    t: 'h',
    s: 201,
    h: [['content-type', 'application/json']],
    b: Buffer.from('{"junk":true}').toString('base64'),
    ...over,
  });

/** Junk writers: each writes one kind of foreign record at `key`, with a TTL unless it is about the TTL. */
const JUNK: Array<[string, (redis: Redis, key: string, fingerprint: string) => Promise<unknown>]> = [
  ['a string', (r, k) => r.set(k, '{"s":"c"}', 'PX', 60_000)],
  ['a list', (r, k) => r.rpush(k, 's', 'c')],
  ['a set', (r, k) => r.sadd(k, 's')],
  ['a sorted set', (r, k) => r.zadd(k, 1, 's')],
  ['a stream', (r, k) => r.xadd(k, '*', 's', 'c')],
  [
    'a hash with an unknown state',
    (r, k, f) => r.hset(k, 's', 'done', 'o', 'x', 'f', f).then(() => r.pexpire(k, 60_000)),
  ],
  ['a hash without an owner', (r, k, f) => r.hset(k, 's', 'p', 'f', f).then(() => r.pexpire(k, 60_000))],
  [
    'a hash without a fingerprint',
    (r, k) => r.hset(k, 's', 'c', 'o', 'x', 'r', '{"t":"v"}').then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a hash with an extra field',
    (r, k, f) => r.hset(k, 's', 'p', 'o', 'x', 'f', f, 'z', '1', 'y', '2').then(() => r.pexpire(k, 60_000)),
  ],
  [
    'in progress holding a response',
    (r, k, f) => r.hset(k, 's', 'p', 'o', 'x', 'f', f, 'r', '{}').then(() => r.pexpire(k, 60_000)),
  ],
  [
    'completed without a response',
    (r, k, f) => r.hset(k, 's', 'c', 'o', 'x', 'f', f).then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a fingerprint of 10 kB',
    (r, k) => r.hset(k, 's', 'p', 'o', 'x', 'f', 'f'.repeat(10_000)).then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a fingerprint not scaleout writes',
    (r, k) =>
      r.hset(k, 's', 'c', 'o', 'x', 'f', 'not-hex', 'r', '{"t":"v"}').then(() => r.pexpire(k, 60_000)),
  ],
  ['a record without expiry (stuck forever)', (r, k, f) => r.hset(k, 's', 'p', 'o', 'x', 'f', f)],
  [
    'a response that is not JSON',
    (r, k, f) => r.hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', 'not json').then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a truncated response',
    (r, k, f) =>
      r
        .hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', httpEnvelope().slice(0, 20))
        .then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a response of an unknown kind',
    (r, k, f) => r.hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', '{"t":"z"}').then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a status out of range',
    (r, k, f) =>
      r.hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', httpEnvelope({ s: 99999 })).then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a header with a line break',
    (r, k, f) =>
      r
        .hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', httpEnvelope({ h: [['x-a', 'b\r\nSet-Cookie: s=1']] }))
        .then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a body that is not base64',
    (r, k, f) =>
      r
        .hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', httpEnvelope({ b: '%%%%' }))
        .then(() => r.pexpire(k, 60_000)),
  ],
  [
    'an escaped __proto__ in the envelope',
    (r, k, f) =>
      r
        .hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', '{"t":"v","\\u005f_proto__":{"admin":true}}')
        .then(() => r.pexpire(k, 60_000)),
  ],
  [
    'a response of 2 MB',
    (r, k, f) =>
      r
        .hset(k, 's', 'c', 'o', 'x', 'f', f, 'r', `{"t":"v","d":"${'x'.repeat(2_000_000)}"}`)
        .then(() => r.pexpire(k, 60_000)),
  ],
];

describe('foreign data in the Redis idempotency keys', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
  });
  afterAll(async () => {
    await server.stop();
  });

  const codes = ['ERR_CORRUPT_DATA', 'ERR_UNSAFE_PAYLOAD', 'ERR_DESERIALIZE'];

  it('run() keys (fn:): a typed data error, never a replay or a second run; junk kept; good keys unaffected', async () => {
    const store = new RedisIdempotencyStore({ connection: redis, prefix: uniquePrefix('foreign-fn') });
    const keys = new Idempotency({ adapter: store, waitMs: 0 });
    await keys.run('good', () => ({ kept: 1 }));
    const seen: Record<string, string> = {};
    for (const [name, write] of JUNK) {
      const key = `junk-${name}`;
      const redisKey = store.keyOf(`fn:${key}`);
      await write(redis, redisKey, '');
      const before = await snapshot(redis, redisKey);
      let ran = false;
      const outcome = await keys
        .run(key, () => {
          ran = true;
          return 'ran';
        })
        .then(
          (v) => `ok:${JSON.stringify(v)}`,
          (err: unknown) => (isScaleoutError(err) ? err.code : `raw:${String(err)}`),
        );
      seen[name] = outcome;
      expect(ran, name).toBe(false);
      expect(await snapshot(redis, redisKey), name).toBe(before);
      expect(codes, `${name}: ${outcome}`).toContain(outcome);
      expect(await keys.run('good', () => ({ kept: 2 })), name).toEqual({ kept: 1 });
    }
    // A kept value with an escaped pollution key: refused, not handed to the caller.
    const polluted = store.keyOf('fn:polluted');
    await redis.hset(
      polluted,
      's',
      'c',
      'o',
      'x',
      'f',
      '',
      'r',
      envelope({ t: 'v', d: '{"\\u005f_proto__":{"admin":true}}' }),
    );
    await redis.pexpire(polluted, 60_000);
    await expect(keys.run('polluted', () => 1)).rejects.toMatchObject({ code: 'ERR_UNSAFE_PAYLOAD' });
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
    console.log(`[foreign fn:] ${JSON.stringify(seen)}`);
    await keys.close();
    await store.close();
  });

  it('HTTP keys (http:<digest>): a typed data error for the framework, never a replay of junk; good keys unaffected', async () => {
    const store = new RedisIdempotencyStore({ connection: redis, prefix: uniquePrefix('foreign-http') });
    const handler = idempotencyHttpHandler(new Idempotency({ adapter: store, waitMs: 0 }));
    const request = (key: string) => ({
      method: 'POST',
      path: '/pay',
      route: '/pay',
      headers: {},
      body: { amount: 1 },
      auth: undefined,
      keyHeader: key,
    });
    // A good key: run it and keep its response.
    const good = await handler.decide(request('good'));
    expect(good.action).toBe('run');
    const seen: Record<string, string> = {};
    for (const k of await redis.keys(`${escapeGlob(store.prefix)}*`)) seen[k] = 'good';
    for (const [i, [name, write]] of JUNK.entries()) {
      // The first request with a key claims it: that is how the test finds its store key.
      const first = await handler.decide(request(`junk-${i}`));
      expect(first.action).toBe('run');
      const found = await redis.keys(`${escapeGlob(store.prefix)}*`);
      const redisKey = found.find((k) => !seen[k]) ?? '';
      seen[redisKey] = name;
      const [, fingerprint] = (await redis.hmget(redisKey, 'o', 'f')) as [string, string];
      await redis.del(redisKey);
      await write(redis, redisKey, fingerprint);
      const before = await snapshot(redis, redisKey);
      const outcome = await handler.decide(request(`junk-${i}`)).then(
        (d) => `ok:${d.action}`,
        (err: unknown) => (isScaleoutError(err) ? err.code : `raw:${String(err)}`),
      );
      expect(codes, `${name}: ${outcome}`).toContain(outcome);
      expect(await snapshot(redis, redisKey), name).toBe(before);
      // The good key is untouched: still held by its first request.
      const again = await handler.decide(request('good')).catch((e: unknown) => e);
      expect(again, name).toMatchObject({ action: 'respond', status: 409 });
    }
    await handler.keys.close();
    await store.close();
  });

  it('queue keys (queue:<topic>:<group>:<id>): the message goes to the dead letters with the error; the handler is not run again', async () => {
    const store = new RedisIdempotencyStore({ connection: redis, prefix: uniquePrefix('foreign-q') });
    const keys = new Idempotency({ adapter: store, waitMs: 0, leaseMs: 1_000 });
    const queue = new MessageQueue({ retryBaseMs: 1, retryMaxMs: 5, maxDeliveries: 2 });
    const handled: string[] = [];
    const dead: Array<{ id: string; error: unknown }> = [];
    queue.on('dead-letter', (e) => dead.push({ id: e.id, error: e.error }));
    await queue.consume('t', (_m, ctx) => void handled.push(ctx.id), { dedupe: keys });
    for (const [i, [name, write]] of JUNK.entries()) {
      const id = `m-${i}`;
      await write(redis, store.keyOf(`queue:t:default:${id}`), '');
      await queue.publish('t', { i }, { messageId: id });
      await until(`the dead letter of ${name}`, () => dead.some((d) => d.id === id), 10_000);
      const error = dead.find((d) => d.id === id)!.error;
      expect(codes, name).toContain((error as { code?: string }).code);
    }
    await queue.publish('t', { ok: true }, { messageId: 'good' });
    await until('the good message', () => handled.includes('good'));
    expect(handled).toEqual(['good']);
    await queue.close();
    await keys.close();
    await store.close();
  });
});
