/**
 * Foreign data: with a raw ioredis client, junk goes into every key family
 * the Redis cache adapter uses (value keys `v:`, refresh locks `l:`, the
 * bus channel `cache:bus`): other Redis types, junk text, truncated JSON,
 * broken envelopes, escaped `\u005f_proto__` payloads, huge values,
 * counters out of range. Then every primitive is called on those keys.
 * Expected: a typed error (ERR_CORRUPT_DATA, ERR_DESERIALIZE,
 * ERR_UNSAFE_PAYLOAD) or the documented skip (a miss with an `error`
 * event), the circuit stays closed, good keys keep their values and keep
 * being read from Redis, and nothing crashes.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../src/cache/index.js';
import { isScaleoutError } from '../../src/errors.js';
import type { CacheErrorEvent } from '../../src/index.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';
import { watchUnhandled } from './cache-lock-hostile.js';

/** Junk a foreign program can leave at a key, by name. */
const JUNK: Array<[string, (r: Redis, key: string) => Promise<unknown>]> = [
  ['a hash', (r, k) => r.hset(k, 'f', 'x')],
  ['a list', (r, k) => r.rpush(k, 'a', 'b')],
  ['a set', (r, k) => r.sadd(k, 'a')],
  ['a sorted set', (r, k) => r.zadd(k, 1, 'a')],
  ['a stream', (r, k) => r.xadd(k, '*', 'f', 'v')],
  ['junk text', (r, k) => r.set(k, 'not json at all')],
  ['an empty string', (r, k) => r.set(k, '')],
  ['invalid UTF-8 bytes', (r, k) => r.set(k, Buffer.from([0xff, 0xfe, 0x00, 0xc3]))],
  ['truncated JSON', (r, k) => r.set(k, '{"user":{"name":"Ada","roles":["adm')],
  ['a truncated envelope', (r, k) => r.set(k, `1:${Date.now() + 60_000}:0:{"a":`)],
  ['an envelope with junk numbers', (r, k) => r.set(k, '1:abc:NaN:{"a":1}')],
  ['an envelope expiring in 10^300 ms', (r, k) => r.set(k, `1:1${'0'.repeat(300)}:-5:{"a":1}`)],
  // Numbers JavaScript reads but the cache never writes: no header, so junk.
  ['an envelope with a signed time', (r, k) => r.set(k, `1:+${Date.now() + 60_000}:0:{"a":1}`)],
  ['an envelope with a hex time', (r, k) => r.set(k, `1:0x${(Date.now() + 60_000).toString(16)}:0:{"a":1}`)],
  ['an envelope with a spaced time', (r, k) => r.set(k, `1: ${Date.now() + 60_000}:0:{"a":1}`)],
  ['an envelope with an exponent time', (r, k) => r.set(k, '1:1e15:0:{"a":1}')],
  ['an envelope with an empty load time', (r, k) => r.set(k, `1:${Date.now() + 60_000}::{"a":1}`)],
  ['an escaped __proto__ payload', (r, k) => r.set(k, '{"\\u005f_proto__":{"admin":true}}')],
  [
    'an escaped constructor.prototype payload',
    (r, k) => r.set(k, '{"constructor":{"\\u0070rototype":{"admin":true}}}'),
  ],
  [
    'a plain __proto__ payload',
    (r, k) => r.set(k, `1:${Date.now() + 60_000}:0:{"__proto__":{"admin":true}}`),
  ],
  ['a huge value (3 MB)', (r, k) => r.set(k, JSON.stringify('x'.repeat(3_000_000)))],
  ['a deeply nested value', (r, k) => r.set(k, `${'['.repeat(100_000)}${']'.repeat(100_000)}`)],
  ['int64 max', (r, k) => r.set(k, '9223372036854775807')],
  ['2^53 + 1', (r, k) => r.set(k, '9007199254740993')],
  ['a negative overflowing counter', (r, k) => r.set(k, '-9223372036854775808')],
  ['a float', (r, k) => r.set(k, '1.5')],
];

/**
 * Junk that is also a valid stored value, read as such: a float, and
 * nesting deeper than JSON.stringify can write (JSON.parse reads it; no
 * depth limit is applied on read).
 */
const READ_AS_VALUES = new Set(['a float', 'a deeply nested value']);

const DATA_CODES = new Set(['ERR_CORRUPT_DATA', 'ERR_DESERIALIZE', 'ERR_UNSAFE_PAYLOAD']);

describe('foreign data in every key family of the Redis cache adapter', () => {
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  let cache: DistributedCache;
  let other: DistributedCache;
  const errors: CacheErrorEvent[] = [];
  const good = { a: { n: 1 }, b: 'text', c: [1, 2, 3] } as Record<string, unknown>;
  let unhandled: ReturnType<typeof watchUnhandled>;

  beforeAll(async () => {
    unhandled = watchUnhandled();
    server = await startRedisServer();
    admin = server.client();
    prefix = uniquePrefix('foreign-cache');
    const options = {
      circuitThreshold: 3,
      lockTtlMs: 30_000,
      hardTimeoutMs: 30_000,
      waitPollMinMs: 10,
      waitPollMaxMs: 20,
      maxValueBytes: 1_048_576,
    };
    cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      ...options,
    });
    other = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      l1: false,
      ...options,
    });
    cache.on('error', (e) => errors.push(e));
    await Promise.all([cache.ready(), other.ready()]);
    for (const [k, v] of Object.entries(good)) await other.set(`good:${k}`, v, { ttlMs: 600_000 });
  });

  afterAll(async () => {
    await Promise.all([cache?.close(), other?.close()]);
    // The adapters are ours: a cache closes only an adapter it created.
    await Promise.all([cache?.adapter.close(), other?.adapter.close()]);
    if (admin !== undefined) await deleteKeysWithPrefix(admin, prefix);
    await server?.stop();
    expect(unhandled.stop()).toEqual([]);
  });

  /** The good keys are intact, read from Redis by another instance, and the circuit is closed. */
  async function goodKeysUnaffected(): Promise<void> {
    for (const [k, v] of Object.entries(good)) {
      expect(await other.get(`good:${k}`)).toEqual(v);
      expect(await cache.get(`good:${k}`)).toEqual(v);
    }
    expect(cache.circuitState).toBe('closed');
    expect(other.circuitState).toBe('closed');
    // writes still land
    await cache.set('good:write', { at: 1 });
    expect(await other.get('good:write')).toEqual({ at: 1 });
  }

  it.each(JUNK)(
    'value key holding %s: reads are misses with a data-error event; writes replace it',
    async (name, write) => {
      const key = `junk:${name}`;
      const full = `${prefix}v:${key}`;
      for (const op of ['get', 'getMany', 'getOrSet', 'setNX', 'increment', 'delete', 'set'] as const) {
        await admin.del(full);
        await write(admin, full);
        errors.length = 0;
        let outcome: unknown;
        try {
          if (op === 'get') outcome = await cache.get(key);
          else if (op === 'getMany') outcome = await cache.getMany([key, 'good:a']);
          else if (op === 'getOrSet') outcome = await cache.getOrSet(key, () => ({ loaded: true }));
          else if (op === 'setNX') outcome = await cache.setNX(key, 1);
          else if (op === 'increment') outcome = await cache.increment(key);
          else if (op === 'delete') outcome = await cache.delete(key);
          else outcome = await cache.set(key, { replaced: true });
        } catch (err) {
          outcome = err;
          // Only increment throws here: the stored value is no integer counter scaleout writes.
          expect(op).toBe('increment');
          expect(isScaleoutError(err, 'ERR_CORRUPT_DATA')).toBe(true);
        }
        const codes = errors.map((e) => (e.error as { code?: string }).code);
        for (const code of codes) expect(DATA_CODES).toContain(code);
        if (op === 'get') {
          if (READ_AS_VALUES.has(name)) {
            expect(outcome).not.toBeUndefined();
            expect(codes).toEqual([]);
          } else {
            // the documented skip: a miss with one data-error event
            expect(outcome).toBeUndefined();
            expect(codes.length).toBe(1);
          }
          if (outcome !== null && typeof outcome === 'object') {
            expect(Object.hasOwn(outcome, '__proto__')).toBe(false);
            expect(({} as Record<string, unknown>).admin).toBeUndefined();
          }
        }
        if (op === 'getMany') expect((outcome as unknown[])[1]).toEqual(good.a);
        if (op === 'getOrSet' && !READ_AS_VALUES.has(name)) {
          expect(outcome).toEqual({ loaded: true });
          expect(await other.get(key)).toEqual({ loaded: true });
        }
        if (op === 'set') expect(await other.get(key)).toEqual({ replaced: true });
        if (op === 'delete') expect(await admin.exists(full)).toBe(0);
      }
      await goodKeysUnaffected();
    },
  );

  it('many reads of one foreign key: never an outage, good keys still read from Redis', async () => {
    await admin.hset(`${prefix}v:junk:many`, 'f', 'x');
    errors.length = 0;
    for (let i = 0; i < 50; i++) expect(await cache.get('junk:many')).toBeUndefined();
    expect(errors.every((e) => isScaleoutError(e.error, 'ERR_CORRUPT_DATA'))).toBe(true);
    expect(errors.length).toBe(50);
    await admin.set(`${prefix}v:good:fresh`, '"straight from redis"');
    expect(await cache.get('good:fresh')).toBe('straight from redis');
    await goodKeysUnaffected();
  });

  it.each(JUNK.slice(0, 9))(
    'refresh lock holding %s: the cold load runs, is stored and reported',
    async (name, write) => {
      const key = `lockjunk:${name}`;
      await write(admin, `${prefix}l:${key}`);
      errors.length = 0;
      expect(await cache.getOrSet(key, () => ({ loaded: name }))).toEqual({ loaded: name });
      expect(await other.get(key)).toEqual({ loaded: name });
      expect(errors.map((e) => `${e.operation}:${(e.error as { code?: string }).code}`)).toContain(
        'lock:ERR_CORRUPT_DATA',
      );
      await goodKeysUnaffected();
    },
    10_000,
  );

  it('junk on the bus channel: reported, ignored; invalidation between instances keeps working', async () => {
    const channel = `${prefix}cache:bus`;
    const junk = [
      'not json',
      '',
      'null',
      '[]',
      '"text"',
      '{}',
      '{"i":1,"k":["good:a"]}',
      '{"i":"x","k":"good:a"}',
      '{"i":"x","k":[1,2]}',
      '{"i":"x","p":5}',
      '{"i":"x","k":["a"],"p":"b"}',
      '{"\\u005f_proto__":{"k":["good:a"]}}',
      `{"i":"x","k":[${'"k",'.repeat(200_000)}"k"]}`,
      Buffer.from([0xff, 0xfe]).toString('latin1'),
      'x'.repeat(5_000_000),
    ];
    errors.length = 0;
    for (const message of junk) await admin.publish(channel, message);
    await until(
      'junk reported',
      () => errors.filter((e) => e.operation === 'bus').length >= junk.length,
      10_000,
    );
    for (const e of errors) expect(isScaleoutError(e.error, 'ERR_CORRUPT_DATA')).toBe(true);
    // a well-formed message from another program only evicts L1 entries: harmless
    await admin.publish(channel, '{"i":"someone","k":["good:a"]}');
    // invalidation still works: another instance's write reaches this instance's L1
    await cache.get('good:b');
    const writer = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
    });
    await writer.ready();
    await writer.set('good:b', 'changed', { ttlMs: 600_000 });
    good.b = 'changed';
    await until('invalidated', async () => (await cache.get('good:b')) === 'changed', 5_000);
    await writer.close();
    await writer.adapter.close();
    await goodKeysUnaffected();
  });

  it('clear() removes foreign records under the namespace too, and only there', async () => {
    const ns = cache.namespace('foreign-ns');
    await admin.hset(`${prefix}v:foreign-ns:h`, 'f', 'x');
    await admin.set(`${prefix}v:foreign-ns:j`, 'junk');
    await ns.clear();
    expect(await admin.exists(`${prefix}v:foreign-ns:h`, `${prefix}v:foreign-ns:j`)).toBe(0);
    await goodKeysUnaffected();
  });
});
