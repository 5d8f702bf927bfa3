import { describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { CacheValueTooLargeError, SerializationError, UnsafePayloadError } from '../../../src/errors.js';
import type { Serializer } from '../../../src/types.js';
import { cacheFactory } from './helpers.js';

const make = cacheFactory();

/** Two instances on one adapter: the writer (with its L1) and another process. */
function pair(options: Parameters<typeof make>[0] = {}) {
  const adapter = memoryCacheAdapter();
  return { writer: make({ ...options, adapter }), other: make({ ...options, adapter }) };
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const unfaithful: Array<[string, unknown]> = [
  ['a Map', new Map([['a', 1]])],
  ['a Set', new Set([1, 2])],
  ['a Date', new Date(0)],
  ['an Error', new Error('boom')],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a nested Map', { user: { roles: new Map() } }],
  ['a nested Date', { createdAt: new Date(0) }],
  ['NaN in an array', [1, Number.NaN]],
  ['undefined in an array', [1, undefined, 3]],
  // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
  ['a hole in an array', [1, , 3]],
  ['a function property', { id: 1, save: () => {} }],
  ['a symbol property value', { id: 1, tag: Symbol('x') }],
  ['a class instance', new Point(1, 2)],
  ['a boxed string', new String('x')],
  ['a Buffer', Buffer.from('hi')],
  ['a typed array', new Uint8Array([1, 2])],
  ['a RegExp', /x/],
  ['an object with toJSON', { toJSON: () => 'other' }],
];

describe('DistributedCache: L1 holds what the adapter holds', () => {
  it.each(unfaithful)(
    'refuses %s with SerializationError and keeps the old value everywhere',
    async (_, value) => {
      const { writer, other } = pair();
      await writer.set('k', { old: true });
      await expect(writer.set('k', value)).rejects.toBeInstanceOf(SerializationError);
      await expect(writer.setNX('fresh', value)).rejects.toBeInstanceOf(SerializationError);
      await expect(writer.setMany([{ key: 'k', value }])).rejects.toBeInstanceOf(SerializationError);
      await expect(writer.getOrSet('loaded', () => value)).rejects.toBeInstanceOf(SerializationError);
      for (const cache of [writer, other]) {
        expect(await cache.get('k')).toEqual({ old: true });
        expect(await cache.get('fresh')).toBeUndefined();
        expect(await cache.get('loaded')).toBeUndefined();
      }
    },
  );

  it('names where the bad value sits and what to store instead, without echoing values', async () => {
    const { writer } = pair();
    const err = await writer.set('k', { user: { createdAt: new Date(0), secret: 's3cr3t' } }).catch((e) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect(err.message).toMatch(/a Date/);
    expect(err.message).toMatch(/\$\.user\.createdAt/);
    expect(err.message).toMatch(/toISOString/);
    expect(err.message).not.toMatch(/s3cr3t|1970/);
  });

  it('a mutation of the written object after set() changes nothing the cache answers', async () => {
    const { writer, other } = pair();
    const user = { name: 'Ada', roles: ['admin'] };
    await writer.set('user', user);
    user.name = 'Mallory';
    user.roles.push('root');
    const expected = { name: 'Ada', roles: ['admin'] };
    expect(await writer.get('user')).toEqual(expected);
    expect(await other.get('user')).toEqual(expected);
    await writer.setMany([{ key: 'many', value: user }]);
    user.roles.length = 0;
    expect(await writer.get('many')).toEqual({ name: 'Mallory', roles: ['admin', 'root'] });
  });

  it("a mutation of a getOrSet loader's object after it resolved changes nothing the cache answers", async () => {
    const { writer, other } = pair();
    const loaded = { n: 1 };
    expect(await writer.getOrSet('g', () => loaded)).toEqual({ n: 1 });
    loaded.n = 2;
    expect(await writer.get('g')).toEqual({ n: 1 });
    expect(await writer.getOrSet('g', () => ({ n: 3 }))).toEqual({ n: 1 });
    expect(await other.get('g')).toEqual({ n: 1 });
  });

  it('accepts what reads back the same: undefined properties, -0, null-prototype objects, deep plain data', async () => {
    const { writer, other } = pair();
    const bare = Object.assign(Object.create(null), { a: 1 });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 1_000; i++) deep = { d: [deep] };
    for (const value of [{ a: 1, b: undefined }, -0, bare, deep, 'text', 0, false, null, [], {}]) {
      await writer.set('k', value);
      const mine = await writer.get('k');
      const theirs = await other.get('k');
      expect(mine).toEqual(theirs);
      expect(mine).toEqual(JSON.parse(JSON.stringify(value)));
    }
  });

  it('a serializer that keeps Dates and Maps passes them, and L1 still holds its round trip', async () => {
    const tagged: Serializer = {
      serialize: (value) =>
        JSON.stringify(value, function (key, v) {
          const raw = (this as Record<string, unknown>)[key];
          if (raw instanceof Date) return { $date: raw.getTime() };
          if (raw instanceof Map) return { $map: [...raw] };
          return v;
        }),
      deserialize: <T>(text: string) =>
        JSON.parse(text, (_, v) => {
          if (v !== null && typeof v === 'object' && '$date' in v) return new Date(v.$date);
          if (v !== null && typeof v === 'object' && '$map' in v) return new Map(v.$map);
          return v;
        }) as T,
    };
    const { writer, other } = pair({ serializer: tagged });
    const value = { at: new Date(5), index: new Map([['a', 1]]) };
    await writer.set('k', value);
    value.at.setTime(9);
    value.index.set('b', 2);
    for (const cache of [writer, other]) {
      const read = (await cache.get('k')) as typeof value;
      expect(read.at).toEqual(new Date(5));
      expect([...read.index]).toEqual([['a', 1]]);
    }
    await expect(writer.set('k', { n: Number.NaN })).rejects.toBeInstanceOf(SerializationError);
  });
});

describe('DistributedCache: values are written with a cap and read back strictly', () => {
  it('refuses values that do not serialize, oversize values and pollution payloads, keeping the old value', async () => {
    const cache = make({ maxValueBytes: 1_000 });
    await cache.set('k', { good: true });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(cache.set('k', circular)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', () => 1)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', 10n)).rejects.toBeInstanceOf(SerializationError);
    await expect(cache.set('k', undefined)).rejects.toBeInstanceOf(SerializationError);
    const big = cache.set('k', 'é'.repeat(600));
    await expect(big).rejects.toBeInstanceOf(CacheValueTooLargeError);
    await expect(big).rejects.toMatchObject({
      code: 'ERR_CACHE_VALUE_TOO_LARGE',
      bytes: 1202,
      maxBytes: 1000,
    });
    const polluted = JSON.parse('{"a":1,"__proto__":{"isAdmin":true}}');
    await expect(cache.set('k', polluted)).rejects.toBeInstanceOf(UnsafePayloadError);
    await expect(
      cache.setMany([
        { key: 'x', value: 1 },
        { key: 'k', value: polluted },
      ]),
    ).rejects.toBeInstanceOf(UnsafePayloadError);
    await expect(cache.getOrSet('p', () => polluted)).rejects.toBeInstanceOf(UnsafePayloadError);
    expect(await cache.get('k')).toEqual({ good: true });
    expect(await cache.get('x')).toBeUndefined();
    expect(await cache.get('p')).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('treats an unreadable or polluted stored value as a miss and reports it', async () => {
    const adapter = memoryCacheAdapter();
    const cache = make({ adapter });
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(`${e.operation}:${(e.error as { code?: string }).code}`));
    await adapter.set('v:bad', '1:9999999999999:0:{not json');
    await adapter.set('v:evil', '{"__proto__":{"isAdmin":true}}');
    expect(await cache.get('bad')).toBeUndefined();
    expect(await cache.get('evil')).toBeUndefined();
    expect(errors).toEqual(['deserialize:ERR_DESERIALIZE', 'deserialize:ERR_UNSAFE_PAYLOAD']);
    expect(await cache.getOrSet('evil', () => ({ safe: 1 }))).toEqual({ safe: 1 });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
