/**
 * Property tests: hostile input to every public entry of the idempotency
 * primitive (the Idempotency constructor, run(), on()/off(), idempotent(),
 * the middleware factories of node:http, Express, Fastify and Koa and
 * their framework-free core, the memory and Redis stores called directly,
 * and the queue's dedupe option) gets a value or a typed ScaleoutError with
 * a code: never a raw TypeError, a crash, a hang or an unhandled
 * rejection. Unknown option keys are always refused. Hostile requests sent
 * as raw bytes to a real server get 2xx, 400, 409 or 422, never a 5xx.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore } from '../../src/adapters/memory/memory-idempotency-store.js';
import { RedisIdempotencyStore } from '../../src/adapters/redis/idempotency.js';
import type { IdempotencyStore } from '../../src/contracts/idempotency.js';
import { idempotency as idempotencyExpress } from '../../src/express.js';
import { idempotency as idempotencyFastify } from '../../src/fastify.js';
import { idempotencyHttpHandler } from '../../src/idempotency/http-idempotency.js';
import { IDEMPOTENCY_HTTP_OPTION_KEYS } from '../../src/idempotency/http-options.js';
import { IDEMPOTENCY_OPTION_KEYS } from '../../src/idempotency/idempotency-options.js';
import { Idempotency, idempotencyNode, idempotent, MessageQueue } from '../../src/index.js';
import { idempotency as idempotencyKoa } from '../../src/koa.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  hostileKey,
  hostileLeaf,
  hostileOptions,
  hostileValue,
  loneSurrogateString,
  outcomeOf,
  Tally,
  unknownKeys,
} from './arbitraries.js';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 200);
const tally = new Tally();
const CORE_KEYS = [...IDEMPOTENCY_OPTION_KEYS];
const HTTP_KEYS = [...IDEMPOTENCY_HTTP_OPTION_KEYS];
const COMBINED_KEYS = [...CORE_KEYS, ...HTTP_KEYS.filter((k) => k !== 'ttlMs')];
const RUN_KEYS = ['fingerprint', 'ttlMs', 'signal'];

function run<T extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<T>, numRuns = RUNS) {
  return fc.assert(property, { numRuns });
}

/** Idempotency keys and header values: huge, control characters, quotes, non-ASCII, arrays, wrong types. */
const hostileKeyText: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 30 }).map((s) => `"${s}"`),
  fc.constantFrom(
    '',
    ' ',
    '"',
    '""',
    '"\\"',
    '"a\\"b"',
    '"a\\nb"',
    'k\u0000',
    'k\r\nX-Injected: 1',
    'x'.repeat(255),
    'x'.repeat(256),
    'x'.repeat(70_000),
    `"${'x'.repeat(255)}"`,
    'naïve-🔑',
    '__proto__',
    'http:abc',
  ),
);
const hostileKeyHeader: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileKeyText },
  { weight: 1, arbitrary: fc.array(hostileKeyText, { maxLength: 4 }) },
  { weight: 1, arbitrary: hostileValue },
);

let redis: RedisServer;
const prefix = uniquePrefix('hostile-idem');

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis.client(), prefix);
  await redis.stop();
  console.log(`[hostile idempotency-input] ${tally.total()} inputs: ${JSON.stringify(tally)}`);
});

describe('constructors and factories', () => {
  it('Idempotency options: an instance or ERR_INVALID_OPTIONS; unknown keys always refused', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(CORE_KEYS, {}, ['ttl', 'store', 'lockTtlMs', 'timeout', 'maxBytes']),
        async (options) => {
          tally.count('Idempotency constructor');
          const outcome = await outcomeOf(async () => {
            const keys = new Idempotency(options as never);
            await keys.close();
          });
          if (unknownKeys(options, CORE_KEYS).length > 0) expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (typeof options === 'number') expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome !== 'ok') expect(outcome).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
  });

  it('middleware factories (node, Express, Fastify, Koa): a middleware or ERR_INVALID_OPTIONS', async () => {
    const keys = new Idempotency();
    const factories: Array<[string, (a?: never, b?: never) => unknown]> = [
      ['idempotencyNode', idempotencyNode as never],
      ['express idempotency', idempotencyExpress as never],
      ['fastify idempotency', idempotencyFastify as never],
      ['koa idempotency', idempotencyKoa as never],
    ];
    await run(
      fc.asyncProperty(
        hostileOptions(COMBINED_KEYS, {}, ['headerName', 'require', 'ttl', 'store']),
        hostileOptions(HTTP_KEYS, {}, ['headers', 'subject', 'require']),
        fc.constantFrom(...factories),
        async (combined, httpOptions, [name, factory]) => {
          tally.count(`${name} (one object)`);
          const one = await outcomeOf(() => factory(combined as never));
          if (unknownKeys(combined, COMBINED_KEYS).length > 0) expect(one).toBe('ERR_INVALID_OPTIONS');
          if (one !== 'ok') expect(one).toBe('ERR_INVALID_OPTIONS');
          tally.count(`${name} (instance + options)`);
          const two = await outcomeOf(() => factory(keys as never, httpOptions as never));
          if (unknownKeys(httpOptions, HTTP_KEYS).length > 0) expect(two).toBe('ERR_INVALID_OPTIONS');
          if (two !== 'ok') expect(two).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
    await keys.close();
  });

  it('store factories: a store or ERR_INVALID_OPTIONS, before any connection is made', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(['maxEntries', 'clock'], {}, ['max', 'size']),
        hostileOptions(['connection', 'prefix'], { connection: redis.url }, ['client', 'keyPrefix']),
        async (memoryOptions, redisOptions) => {
          tally.count('memoryIdempotencyStore');
          const memory = await outcomeOf(() => new MemoryIdempotencyStore(memoryOptions as never));
          if (unknownKeys(memoryOptions, ['maxEntries', 'clock']).length > 0)
            expect(memory).toBe('ERR_INVALID_OPTIONS');
          if (memory !== 'ok') expect(memory).toBe('ERR_INVALID_OPTIONS');
          const safe =
            typeof redisOptions === 'object' &&
            redisOptions !== null &&
            (redisOptions as { connection?: unknown }).connection === redis.url;
          if (!safe && unknownKeys(redisOptions, ['connection', 'prefix']).length === 0) return;
          tally.count('redisIdempotencyStore');
          const outcome = await outcomeOf(async () => {
            const store = new RedisIdempotencyStore(redisOptions as never);
            await store.close();
          });
          if (unknownKeys(redisOptions, ['connection', 'prefix']).length > 0)
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome !== 'ok') expect(outcome).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
  });
});

describe('run(), idempotent(), on()/off()', () => {
  let keys: Idempotency;
  beforeAll(() => {
    keys = new Idempotency({ waitMs: 0 });
  });
  afterAll(async () => {
    await keys.close();
  });

  it('hostile keys, functions, results and options: a value or a typed error; repeats replay or refuse', async () => {
    await run(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
          { weight: 1, arbitrary: hostileKeyText },
          { weight: 1, arbitrary: hostileValue },
        ),
        fc.oneof(
          hostileValue.map((v) => () => v),
          hostileValue.map((v) => async () => v),
          hostileLeaf,
        ),
        hostileOptions(RUN_KEYS, {}, ['ttl', 'hash', 'expiresIn']),
        async (key, fn, options) => {
          tally.count('Idempotency.run');
          const first = await outcomeOf(() => keys.run(key as never, fn as never, options as never));
          // Unknown option keys are refused (a bad key or fn may be refused first).
          if (unknownKeys(options, RUN_KEYS).length > 0) {
            expect(['ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT']).toContain(first);
          }
          if (first !== 'ok') {
            // Keys repeat across runs: an earlier run may have used this one with another fingerprint.
            expect([
              'ERR_INVALID_ARGUMENT',
              'ERR_INVALID_OPTIONS',
              'ERR_IDEMPOTENCY_CONFLICT',
              'ERR_IDEMPOTENCY_MISMATCH',
            ]).toContain(first);
            return;
          }
          tally.count('Idempotency.run (repeat)');
          const again = await outcomeOf(() => keys.run(key as never, fn as never, options as never));
          // A repeat replays, or is refused when the result could not be kept (not-kept).
          expect(['ok', 'ERR_IDEMPOTENCY_CONFLICT', 'ERR_UNSAFE_PAYLOAD']).toContain(again);
        },
      ),
    );
  });

  it('hostile results and fingerprints under valid keys: kept and replayed as JSON, or refused as not kept', async () => {
    let n = 0;
    await run(
      fc.asyncProperty(hostileValue, hostileValue, async (result, fingerprint) => {
        tally.count('Idempotency.run (hostile result, fingerprint)');
        const key = `result-${n++}`;
        const fn = () => result;
        const first = await outcomeOf(() => keys.run(key, fn, { fingerprint }));
        // A fingerprint with no canonical form (a cycle, a Map, a function) is refused up front.
        if (first !== 'ok') {
          expect(first).toBe('ERR_INVALID_ARGUMENT');
          return;
        }
        let replayed: unknown;
        const again = await outcomeOf(async () => {
          replayed = await keys.run(key, fn, { fingerprint });
        });
        expect(['ok', 'ERR_IDEMPOTENCY_CONFLICT', 'ERR_UNSAFE_PAYLOAD']).toContain(again);
        const value = await result; // fn's result is awaited (a promise keeps what it resolves to)
        if (again === 'ok' && value !== undefined)
          expect(replayed).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('idempotent() with hostile options: a value or a typed error', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(['idempotency', ...RUN_KEYS], { idempotency: keys }, ['store', 'keys', 'ttl']),
        fc.string({ minLength: 1, maxLength: 20 }),
        async (options, key) => {
          tally.count('idempotent');
          const outcome = await outcomeOf(() => idempotent(`i:${key}`, () => 1, options as never));
          if (unknownKeys(options, ['idempotency', ...RUN_KEYS]).length > 0)
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
  });

  it('on()/off() with hostile events and listeners: typed errors', async () => {
    await run(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('replayed', 'conflict', 'stored', 'released', 'lost', 'error'),
          hostileValue,
        ),
        fc.oneof(
          fc.constant(() => {}),
          hostileValue,
        ),
        async (event, listener) => {
          tally.count('on/off');
          const on = await outcomeOf(() => keys.on(event as never, listener as never));
          const off = await outcomeOf(() => keys.off(event as never, listener as never));
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(on);
          expect(off).toBe(on);
        },
      ),
    );
  });
});

describe('the HTTP core with hostile requests', () => {
  it('hostile methods, paths, headers, bodies and identities: a decision or a typed error', async () => {
    const handler = idempotencyHttpHandler(new Idempotency({ waitMs: 0 }), {
      methods: ['POST', 'PATCH', 'GET'],
    });
    await run(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('POST', 'post', 'PATCH', 'GET', 'DELETE', ''), hostileValue),
        fc.oneof(fc.string({ maxLength: 40 }), hostileValue),
        hostileKeyHeader,
        hostileValue,
        fc.oneof(
          fc.constant(undefined),
          hostileValue.map((sub) => ({ claims: { sub }, source: 'bearer' })),
          hostileValue,
        ),
        async (method, path, keyHeader, body, auth) => {
          tally.count('HTTP core decide');
          const outcome = await outcomeOf(() =>
            handler.decide({
              method: method as never,
              path: path as never,
              route: path as never,
              headers: {},
              body,
              auth: auth as never,
              keyHeader,
            }),
          );
          // A body with no canonical form (a cycle, a function, a Map) is refused by the fingerprint.
          expect(['ok', 'ERR_INVALID_ARGUMENT', 'ERR_IDEMPOTENCY_CONFLICT']).toContain(outcome);
        },
      ),
    );
    await handler.keys.close();
  });

  it('raw bytes to a real server: 2xx, 400, 409 or 422; never a 5xx or a crash', async () => {
    const { createServer } = await import('node:http');
    const keys = new Idempotency({ waitMs: 0 });
    const guard = idempotencyNode(keys);
    let errors = 0;
    const server = createServer(async (req, res) => {
      try {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        if (!(await guard(req, res, { body: Buffer.concat(chunks) }))) return;
        res.writeHead(201).end('ok');
      } catch {
        errors++;
        res.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const send = (head: string, body: Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let reply = '';
        socket.on('data', (d) => {
          reply += d.toString('latin1');
        });
        socket.on('error', () => resolve(reply));
        socket.on('close', () => resolve(reply));
        socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
      });
    const headerBytes = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
      fc.string({ maxLength: 300 }),
      fc.constantFrom('"abc"', '"a\\"b"', 'x'.repeat(300), '\u00e9t\u00e9', 'a, b'),
    );
    await run(
      fc.asyncProperty(
        fc.array(headerBytes, { minLength: 0, maxLength: 3 }),
        fc.uint8Array({ maxLength: 300 }),
        async (values, body) => {
          tally.count('raw HTTP request');
          const lines = values.map((v) => `Idempotency-Key: ${v.replace(/[\r\n]/g, '')}\r\n`).join('');
          const head = `POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${lines}\r\n`;
          const reply = await send(head, Buffer.from(body));
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
          // 0: node's parser closed a request with bytes it refuses (never reached us).
          expect([0, 201, 400, 409, 422]).toContain(status);
        },
      ),
      100,
    );
    expect(errors).toBe(0);
    server.close();
    await keys.close();
  });
});

describe('stores called directly with hostile requests', () => {
  const stores: Array<[string, () => IdempotencyStore]> = [
    ['memory', () => new MemoryIdempotencyStore()],
    ['redis', () => new RedisIdempotencyStore({ connection: redis.client(), prefix })],
  ];
  for (const [name, make] of stores) {
    it(`${name}: claim, complete, release answer or refuse with ERR_INVALID_ARGUMENT`, async () => {
      const store = make();
      const request = fc.oneof(
        hostileValue,
        fc.record(
          {
            key: fc.oneof(fc.string({ maxLength: 30 }), hostileValue),
            owner: fc.oneof(fc.string({ maxLength: 30 }), hostileValue),
            fingerprint: fc.oneof(fc.string({ maxLength: 30 }), hostileValue),
            leaseMs: fc.oneof(fc.integer({ min: 1, max: 60_000 }), hostileLeaf),
            ttlMs: fc.oneof(fc.integer({ min: 1, max: 60_000 }), hostileLeaf),
            response: fc.oneof(fc.string({ maxLength: 30 }), hostileValue),
            extra: hostileKey,
          },
          { requiredKeys: [] },
        ),
      );
      await run(
        fc.asyncProperty(request, fc.constantFrom('claim', 'complete', 'release'), async (r, op) => {
          tally.count(`${name} store ${op}`);
          const outcome = await outcomeOf(() => (store[op as 'claim'] as (x: unknown) => unknown)(r));
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(outcome);
        }),
      );
      await store.close();
    });

    it(`${name}: a key or owner with a lone surrogate is refused with ERR_INVALID_ARGUMENT`, async () => {
      const store = make();
      await run(
        fc.asyncProperty(
          loneSurrogateString,
          fc.constantFrom('key', 'owner'),
          fc.constantFrom('claim', 'complete', 'release'),
          async (text, field, op) => {
            tally.count(`${name} store ${op} (lone surrogate)`);
            const request = {
              key: 'k',
              owner: 'o',
              fingerprint: '',
              leaseMs: 1_000,
              ttlMs: 1_000,
              response: '',
            };
            const outcome = await outcomeOf(() =>
              (store[op as 'claim'] as (x: unknown) => unknown)({ ...request, [field]: text }),
            );
            expect(outcome).toBe('ERR_INVALID_ARGUMENT');
          },
        ),
      );
      await store.close();
    });
  }

  it('run() on Redis: fingerprints with lone surrogates never match another one', async () => {
    const keys = new Idempotency({
      adapter: new RedisIdempotencyStore({ connection: redis.client(), prefix }),
    });
    let serial = 0;
    await run(
      fc.asyncProperty(loneSurrogateString, loneSurrogateString, async (a, b) => {
        tally.count('run on redis (lone surrogate fingerprint)');
        const key = `fp:${++serial}`;
        expect(await keys.run(key, () => 'first', { fingerprint: { note: a } })).toBe('first');
        const again = await outcomeOf(() => keys.run(key, () => 'second', { fingerprint: { note: b } }));
        expect(again).toBe(a === b ? 'ok' : 'ERR_IDEMPOTENCY_MISMATCH');
      }),
    );
    await keys.close();
    await keys.adapter.close();
  });

  it('run() on Redis: a key with a lone surrogate is refused, so no two keys share a record', async () => {
    const keys = new Idempotency({
      adapter: new RedisIdempotencyStore({ connection: redis.client(), prefix }),
    });
    await run(
      fc.asyncProperty(loneSurrogateString, async (key) => {
        tally.count('run on redis (lone surrogate key)');
        expect(await outcomeOf(() => keys.run(key, () => 1))).toBe('ERR_INVALID_ARGUMENT');
      }),
    );
    expect(await keys.run('refund:\ufffd', async () => ({ refunded: 'order A' }))).toEqual({
      refunded: 'order A',
    });
    await expect(keys.run('refund:\udfff', async () => ({ refunded: 'order B' }))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      argument: 'key',
    });
    await keys.close();
    await keys.adapter.close();
  });
});

describe('queue dedupe', () => {
  it('a hostile dedupe option: ERR_INVALID_ARGUMENT, or consuming as usual when undefined', async () => {
    const queue = new MessageQueue();
    await run(
      fc.asyncProperty(hostileValue, async (dedupe) => {
        tally.count('queue.consume dedupe');
        const outcome = await outcomeOf(async () => {
          const consumer = await queue.consume('t', () => {}, { dedupe: dedupe as never });
          await consumer.close();
        });
        expect(outcome).toBe(dedupe === undefined ? 'ok' : 'ERR_INVALID_ARGUMENT');
      }),
      100,
    );
    await queue.close();
  });
});
