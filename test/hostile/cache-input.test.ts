/**
 * Property tests: hostile input to every public entry of DistributedCache
 * (constructor, get, set, setNX, delete, increment, getMany, setMany,
 * deleteMany, getOrSet, namespace, clear, on/off) and of the cache adapter
 * factories (memoryCacheAdapter, redisCacheAdapter) gets a value or a typed
 * ScaleoutError with a code: never a raw TypeError, a crash, a hang or an
 * unhandled rejection. Unknown option keys and non-objects where options go
 * are always refused with ERR_INVALID_OPTIONS. What a write accepted reads
 * back the same in the writing process and in another one.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../src/adapters/memory/index.js';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import { DISTRIBUTED_CACHE_DEFAULTS, DistributedCache } from '../../src/cache/index.js';
import { isWellFormed } from '../../src/internal/validate.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { loneSurrogateString } from './arbitraries.js';
import {
  hostileLeaf,
  hostileOptions,
  hostileString,
  hostileValue,
  notAnOptionsObject,
  outcomeOf,
  Tally,
  unknownKeys,
  watchUnhandled,
} from './cache-lock-hostile.js';

const RUNS = 150;
const tally = new Tally();
const CACHE_KEYS = ['adapter', ...Object.keys(DISTRIBUTED_CACHE_DEFAULTS), 'serializer', 'logger', 'clock'];
const SET_KEYS = ['ttlMs', 'graceMs'];
const GET_OR_SET_KEYS = ['ttlMs', 'graceMs', 'softTimeoutMs', 'hardTimeoutMs', 'earlyRefreshBeta'];
const TYPOS = ['ttl', 'ttlSeconds', 'expiresIn', 'ex', 'px', 'defaultTtl', 'TTL', 'graceMS', 'timeout'];
const ALLOWED = new Set([
  'ok',
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_OPTIONS',
  'ERR_SERIALIZE',
  'ERR_UNSAFE_PAYLOAD',
  'ERR_CACHE_VALUE_TOO_LARGE',
  'ERR_TIMEOUT',
]);

/** A key: hostile strings and values, or a fresh key (so writes do not collide across runs). */
let serial = 0;
const keyArb = fc.oneof(
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileLeaf },
  { weight: 2, arbitrary: hostileString.map((s) => `${++serial}:${s}`) },
);

/** A loader: returns a hostile value (now or later), throws, hangs, or is not a function. */
const SENTINEL = new Error('the loader failed');
const loaderArb = fc.oneof(
  hostileValue.map((v) => () => v),
  hostileValue.map((v) => async () => v),
  fc.constant(() => {
    throw SENTINEL;
  }),
  fc.constant(() => new Promise(() => {})),
  hostileLeaf,
);

describe('hostile input: DistributedCache and its adapter factories', () => {
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  let writer: DistributedCache;
  let reader: DistributedCache;
  let memory: DistributedCache;
  let unhandled: ReturnType<typeof watchUnhandled>;

  beforeAll(async () => {
    unhandled = watchUnhandled();
    server = await startRedisServer();
    admin = server.client();
    prefix = uniquePrefix('hostile-cache');
    const options = { hardTimeoutMs: 200, lockTtlMs: 500, waitPollMinMs: 10, waitPollMaxMs: 50 };
    writer = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      ...options,
    });
    // Another "process": no L1, so every read is what Redis holds.
    reader = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      l1: false,
      ...options,
    });
    memory = new DistributedCache(options);
    await Promise.all([writer.ready(), reader.ready()]);
  });

  afterAll(async () => {
    await Promise.all([writer?.close(), reader?.close(), memory?.close()]);
    // The Redis adapters are ours: a cache closes only an adapter it created.
    await Promise.all([writer?.adapter.close(), reader?.adapter.close()]);
    if (admin !== undefined) await deleteKeysWithPrefix(admin, prefix);
    await server?.stop();
    const seen = unhandled.stop();
    console.info(`cache hostile inputs tried: ${JSON.stringify(tally.toJSON())} (total ${tally.total()})`);
    expect(seen).toEqual([]);
  });

  it('new DistributedCache(options): typed refusals, unknown keys always refused, a working cache otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(hostileOptions(CACHE_KEYS, TYPOS), async (options) => {
        tally.count('new DistributedCache');
        let cache: DistributedCache | undefined;
        const outcome = await outcomeOf(() => {
          cache = new DistributedCache(options as never);
        });
        if (unknownKeys(options, CACHE_KEYS).length > 0 || notAnOptionsObject(options)) {
          expect(outcome).toBe('ERR_INVALID_OPTIONS');
        } else {
          expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(outcome);
        }
        if (cache !== undefined) {
          // what the constructor accepted must work
          expect(ALLOWED).toContain(await outcomeOf(() => cache!.set('k', { a: 1 })));
          expect(ALLOWED).toContain(await outcomeOf(() => cache!.get('k')));
          await cache.close();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('memoryCacheAdapter / redisCacheAdapter(options)', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileOptions(['maxEntries', 'maxBytes', 'clock', 'now'], ['max', 'maxSize', 'ttl']),
        hostileOptions(['prefix', 'scanCount'], ['client', 'keyPrefix'], {}),
        fc.constantFrom('client', 'url', 'none', 'object'),
        async (memoryOptions, redisOptions, connectionKind) => {
          tally.count('memoryCacheAdapter');
          tally.count('redisCacheAdapter');
          const a = await outcomeOf(async () => {
            const adapter = memoryCacheAdapter(memoryOptions as never);
            await adapter.set('k', 'v');
            await adapter.get('k');
            await adapter.close();
          });
          if (
            unknownKeys(memoryOptions, ['maxEntries', 'maxBytes', 'clock', 'now']).length > 0 ||
            notAnOptionsObject(memoryOptions)
          ) {
            expect(a).toBe('ERR_INVALID_OPTIONS');
          } else expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(a);
          // Connections stay on the loopback test server.
          const connection =
            connectionKind === 'client'
              ? server.client()
              : connectionKind === 'url'
                ? server.url
                : connectionKind === 'object'
                  ? { host: '127.0.0.1', port: server.port }
                  : undefined;
          const options =
            typeof redisOptions === 'object' && redisOptions !== null && !notAnOptionsObject(redisOptions)
              ? { ...redisOptions, ...(connection === undefined ? {} : { connection }) }
              : redisOptions;
          const b = await outcomeOf(async () => {
            const adapter = redisCacheAdapter(options as never);
            try {
              await adapter.set('hostile:k', 'v', { ttlMs: 1000 });
            } finally {
              await adapter.close();
            }
          });
          if (
            unknownKeys(options, ['connection', 'prefix', 'scanCount']).length > 0 ||
            notAnOptionsObject(options)
          ) {
            expect(b).toBe('ERR_INVALID_OPTIONS');
          } else expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(b);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('set / setNX / getOrSet: typed outcomes; what was accepted reads back the same here and elsewhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('set', 'setNX', 'getOrSet'),
        keyArb,
        hostileValue,
        loaderArb,
        fc.oneof(hostileOptions(GET_OR_SET_KEYS, TYPOS), fc.constant({ ttlMs: 60_000 })),
        async (method, key, value, loader, options) => {
          tally.count(`cache.${method}`);
          const outcome = await outcomeOf(async () => {
            if (method === 'set') return writer.set(key as string, value, options as never);
            if (method === 'setNX') return writer.setNX(key as string, value, options as never);
            return writer.getOrSet(key as string, loader as never, options as never).catch((err) => {
              if (err === SENTINEL) return undefined; // the loader's own error, passed through as documented
              throw err;
            });
          });
          expect(ALLOWED).toContain(outcome);
          const known = method === 'getOrSet' ? GET_OR_SET_KEYS : SET_KEYS;
          if (
            typeof key === 'string' &&
            key.length > 0 &&
            key.length <= 1024 &&
            // biome-ignore lint/suspicious/noControlCharactersInRegex: a valid key has none
            !/[\u0000-\u001f\u007f]/.test(key) &&
            isWellFormed(key) // a lone surrogate is refused as an argument first
          ) {
            const badLoader = method === 'getOrSet' && typeof loader !== 'function';
            if (!badLoader && (notAnOptionsObject(options) || unknownKeys(options, known).length > 0)) {
              expect(outcome).toBe('ERR_INVALID_OPTIONS');
            }
          }
          if (outcome === 'ok' && method === 'set') {
            const mine = await writer.get(key as string);
            const theirs = await reader.get(key as string);
            expect(mine).toEqual(theirs);
            expect(mine).toEqual(JSON.parse(JSON.stringify(value)));
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('get / delete / increment / namespace: typed outcomes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('get', 'delete', 'increment', 'namespace'),
        keyArb,
        hostileLeaf,
        hostileOptions(['ttlMs'], TYPOS),
        async (method, key, by, options) => {
          tally.count(`cache.${method}`);
          const cache = method === 'increment' ? writer : memory;
          const outcome = await outcomeOf(async () => {
            if (method === 'get') return cache.get(key as string);
            if (method === 'delete') return cache.delete(key as string);
            if (method === 'namespace') {
              const ns = cache.namespace(key as string);
              await ns.set('x', 1);
              return ns.get('x');
            }
            return cache.increment(key as string, by as number, options as never);
          });
          expect([...ALLOWED, 'ERR_CORRUPT_DATA']).toContain(outcome);
          if (method === 'increment' && typeof by === 'number' && !Number.isSafeInteger(by)) {
            expect(outcome).not.toBe('ok');
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('keys and namespaces with a lone surrogate are refused on Redis (they would share one key)', async () => {
    await fc.assert(
      fc.asyncProperty(
        loneSurrogateString,
        fc.constantFrom(
          'get',
          'set',
          'setNX',
          'getOrSet',
          'delete',
          'increment',
          'namespace',
          'getMany',
          'setMany',
          'deleteMany',
        ),
        async (key, method) => {
          tally.count(`lone surrogate ${method}`);
          const outcome = await outcomeOf(async () => {
            switch (method) {
              case 'get':
                return writer.get(key);
              case 'set':
                return writer.set(key, 1);
              case 'setNX':
                return writer.setNX(key, 1);
              case 'getOrSet':
                return writer.getOrSet(key, () => 1);
              case 'delete':
                return writer.delete(key);
              case 'increment':
                return writer.increment(key);
              case 'namespace':
                return writer.namespace(key);
              case 'getMany':
                return writer.getMany(['fine', key]);
              case 'setMany':
                return writer.setMany([
                  { key: 'fine', value: 1 },
                  { key, value: 2 },
                ]);
              default:
                return writer.deleteMany(['fine', key]);
            }
          });
          expect(outcome).toBe('ERR_INVALID_ARGUMENT');
        },
      ),
      { numRuns: RUNS },
    );
    await writer.set('price:\ufffd', 100);
    await expect(reader.get('price:\udfff')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await reader.get('price:\ufffd')).toBe(100);
  });

  it('getMany / setMany / deleteMany: typed outcomes, one bad entry stores none', async () => {
    const entryArb = fc.oneof(
      hostileValue,
      fc.record(
        { key: keyArb, value: hostileValue, ttlMs: hostileLeaf, graceMs: hostileLeaf },
        { requiredKeys: ['key', 'value'] },
      ),
      fc.record({ key: keyArb, value: hostileValue, ttl: hostileLeaf }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(keyArb, { maxLength: 6 }), hostileValue),
        fc.oneof(fc.array(entryArb, { maxLength: 5 }), hostileValue),
        async (keys, entries) => {
          tally.count('cache.getMany');
          tally.count('cache.setMany');
          tally.count('cache.deleteMany');
          expect(ALLOWED).toContain(await outcomeOf(() => writer.getMany(keys as never)));
          const set = await outcomeOf(() => writer.setMany(entries as never));
          expect(ALLOWED).toContain(set);
          if (set !== 'ok' && Array.isArray(entries)) {
            for (const e of entries) {
              const k = (e as { key?: unknown } | null)?.key;
              if (typeof k === 'string' && /^\d+:/.test(k)) {
                expect(await outcomeOf(() => reader.get(k))).not.toBe('ERR_CONNECTION');
              }
            }
          }
          expect(ALLOWED).toContain(await outcomeOf(() => writer.deleteMany(keys as never)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('on / off: unknown events and non-functions are refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString, hostileLeaf, fc.constantFrom('hit', 'error')),
        hostileValue,
        async (event, listener) => {
          tally.count('cache.on');
          const outcome = await outcomeOf(() => memory.on(event as never, listener as never)());
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(outcome);
          if (typeof listener !== 'function') expect(outcome).toBe('ERR_INVALID_ARGUMENT');
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(
            await outcomeOf(() => memory.off(event as never, listener as never)),
          );
        },
      ),
      { numRuns: RUNS },
    );
    // the cache still works after all of it
    await memory.set('after', { ok: true });
    expect(await memory.get('after')).toEqual({ ok: true });
    await writer.set('after', { ok: true });
    expect(await reader.get('after')).toEqual({ ok: true });
  });
});
