/**
 * Hostile input to every public method and constructor of the rate
 * limiter, its adapters and its middlewares: wrong types, unknown option
 * keys, bare numbers where options go, huge and hostile values. Each call
 * must succeed (a documented success) or throw / reject a ScaleoutError
 * with a code; never a raw TypeError, a crash, a hang or an unhandled
 * rejection (vitest fails the run on one).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryRateLimitAdapter,
  memoryRateLimitAdapter,
} from '../../src/adapters/memory/memory-rate-limit-adapter.js';
import { type RedisRateLimitAdapter, redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { isScaleoutError } from '../../src/errors.js';
import { rateLimit as rateLimitExpress } from '../../src/rate-limit/rate-limit-express.js';
import { rateLimit as rateLimitFastify } from '../../src/rate-limit/rate-limit-fastify.js';
import { rateLimitHeaders } from '../../src/rate-limit/rate-limit-headers.js';
import { rateLimitIpKey } from '../../src/rate-limit/rate-limit-ip-key.js';
import { rateLimit as rateLimitKoa } from '../../src/rate-limit/rate-limit-koa.js';
import { rateLimitHandler } from '../../src/rate-limit/rate-limit-middleware.js';
import { rateLimitNode } from '../../src/rate-limit/rate-limit-node.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { loneSurrogateString, outcomeOf } from './arbitraries.js';

function circular(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}
function deep(depth: number): unknown {
  let o: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) o = { o };
  return o;
}

/** Values no caller should send, and some a careless one does. */
const special = fc.constantFrom<unknown>(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  0,
  1,
  -1,
  1.5,
  '',
  ' ',
  '\u0000',
  'a\r\nb',
  '{tag}',
  '__proto__',
  'constructor',
  'x'.repeat(100_000),
  '\u{1F600}'.repeat(600),
  new Map([['limit', 1]]),
  new Set([1]),
  new Date(),
  10n,
  () => 1,
  Symbol('s'),
  null,
  undefined,
  true,
  [],
  [1, 2],
  Object.create(null),
  JSON.parse('{"__proto__":{"polluted":1}}'),
  circular(),
  deep(2_000),
  new AbortController().signal,
  AbortSignal.abort(),
  new Uint8Array(4),
);
const hostile = fc.oneof(
  { weight: 3, arbitrary: special },
  {
    weight: 2,
    arbitrary: fc.anything({
      withBigInt: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2_000 }) },
  { weight: 1, arbitrary: fc.double() },
);
/** An options object: some known keys with hostile values, some unknown keys. */
function optionsLike(keys: readonly string[]) {
  return fc.oneof(
    hostile,
    fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 12 })), hostile, { maxKeys: 5 }),
  );
}
const validLimit = { limit: 5, windowMs: 1_000 };
const limitLike = fc.oneof(
  hostile,
  fc.record({ limit: hostile, windowMs: hostile, algorithm: hostile, name: hostile }, { requiredKeys: [] }),
  fc.array(fc.oneof(hostile, fc.constant(validLimit)), { maxLength: 20 }),
);

/** Runs `fn`; a throw or rejection must be a ScaleoutError with a code. */
async function attempt(fn: () => unknown): Promise<'ok' | 'typed'> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (!isScaleoutError(err) || typeof err.code !== 'string') {
      throw new Error(`not a typed error: ${String(err)}`, { cause: err });
    }
    return 'typed';
  }
}

const RUNS = 300;
const tried: Record<string, number> = {};
function count(name: string): void {
  tried[name] = (tried[name] ?? 0) + 1;
}

describe('hostile input to the rate limiter', () => {
  let server: RedisServer;
  let redis: Redis;
  let onMemory: RateLimiter;
  let onRedis: RateLimiter;
  let redisAdapter: RedisRateLimitAdapter;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
    onMemory = new RateLimiter({
      limits: [
        { limit: 10, windowMs: 1_000 },
        { limit: 100, windowMs: 60_000, algorithm: 'sliding-window' },
      ],
    });
    redisAdapter = redisRateLimitAdapter({ connection: redis, prefix: uniquePrefix('hostile') });
    onRedis = new RateLimiter({
      adapter: redisAdapter,
      limits: [
        { limit: 10, windowMs: 1_000 },
        { limit: 100, windowMs: 60_000, algorithm: 'fixed-window' },
      ],
      failOpen: false,
      operationTimeoutMs: 5_000,
    });
  });
  afterAll(async () => {
    await onMemory?.close();
    await onRedis?.close();
    await server?.stop();
    console.log(`rate limiter hostile inputs tried: ${JSON.stringify(tried)}`);
  });

  it('new RateLimiter(options)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostile,
          optionsLike(['adapter', 'limits', 'name', 'failOpen', 'instances', 'operationTimeoutMs', 'clock']),
          fc.record(
            { limits: limitLike, name: fc.oneof(hostile, fc.constant('ok')) },
            { requiredKeys: ['limits'] },
          ),
        ),
        async (options) => {
          count('new RateLimiter');
          await attempt(async () => {
            const limiter = new RateLimiter(options as never);
            await limiter.close();
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  for (const [label, pick] of [
    ['memory adapter', () => onMemory],
    ['redis adapter', () => onRedis],
  ] as const) {
    it(`consume / peek / refund / reset (${label})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostile, fc.string({ maxLength: 300 })),
          fc.oneof(
            hostile,
            optionsLike(['cost', 'signal']),
            fc.record({ cost: hostile }, { requiredKeys: [] }),
          ),
          hostile,
          async (key, options, cost) => {
            const limiter = pick();
            for (const fn of [
              () => limiter.consume(key as never, options as never),
              () => limiter.peek(key as never, options as never),
              () => limiter.refund(key as never, cost as never),
              () => limiter.reset(key as never),
            ]) {
              count(`limiter methods (${label})`);
              const outcome = await attempt(fn);
              if (outcome === 'ok') expect(typeof key).toBe('string');
            }
          },
        ),
        { numRuns: RUNS },
      );
    }, 120_000);
  }

  it('keys with a lone surrogate are refused: on Redis, on one memory limit, by the adapters', async () => {
    // One limit on the memory adapter is the path that checks a key only when it is new.
    const single = new RateLimiter({ limits: [{ limit: 10, windowMs: 1_000 }] });
    const memoryAdapter = memoryRateLimitAdapter();
    const rules = [{ limit: 10, windowMs: 1_000, algorithm: 'fixed-window' as const }];
    try {
      await fc.assert(
        fc.asyncProperty(loneSurrogateString, async (key) => {
          for (const limiter of [onRedis, single]) {
            count('lone surrogate key');
            for (const fn of [
              () => limiter.consume(key),
              () => limiter.peek(key),
              () => limiter.refund(key, 1),
              () => limiter.reset(key),
            ]) {
              expect(await outcomeOf(fn)).toBe('ERR_INVALID_ARGUMENT');
            }
          }
          for (const adapter of [redisAdapter, memoryAdapter]) {
            count('lone surrogate adapter key');
            expect(await outcomeOf(() => adapter.consume({ key, rules, cost: 1 }))).toBe(
              'ERR_INVALID_ARGUMENT',
            );
            expect(await outcomeOf(() => adapter.peek({ key, rules }))).toBe('ERR_INVALID_ARGUMENT');
          }
        }),
        { numRuns: RUNS },
      );
      // What 'ip:\udfff' would have shared on Redis: the count of 'ip:\ufffd' stays its own.
      for (let i = 0; i < 10; i++) expect((await onRedis.consume('ip:\ufffd')).allowed).toBe(true);
      await expect(onRedis.consume('ip:\udfff')).rejects.toMatchObject({ argument: 'key' });
    } finally {
      await single.close();
      await memoryAdapter.close();
    }
  });

  it('on / off with hostile events and listeners never throw a raw error', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (event, listener) => {
        count('on/off');
        await attempt(() => {
          const off = onMemory.on(event as never, listener as never);
          onMemory.off(event as never, listener as never);
          off();
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('memoryRateLimitAdapter(options) and its methods', async () => {
    const adapter = new MemoryRateLimitAdapter();
    await fc.assert(
      fc.asyncProperty(optionsLike(['clock', 'maxKeys']), hostile, async (options, request) => {
        count('memory adapter');
        await attempt(async () => (await memoryRateLimitAdapter(options as never).close()) as unknown);
        for (const method of ['consume', 'peek', 'refund', 'reset'] as const) {
          count('memory adapter');
          await attempt(() => adapter[method](request as never));
        }
      }),
      { numRuns: RUNS },
    );
    await adapter.close();
  });

  it('redisRateLimitAdapter(options) and its methods (requests with hostile keys, rules and costs)', async () => {
    const request = fc.record(
      {
        key: fc.oneof(hostile, fc.string({ maxLength: 100 })),
        rules: fc.oneof(
          hostile,
          fc.array(
            fc.record({ limit: hostile, windowMs: hostile, algorithm: hostile }, { requiredKeys: [] }),
            { maxLength: 4 },
          ),
        ),
        cost: hostile,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        // Never a valid connection: a valid one would connect to a default server.
        fc.oneof(
          hostile,
          fc.record({ connection: hostile, prefix: hostile, url: hostile }, { requiredKeys: [] }),
        ),
        fc.oneof(hostile, request),
        async (options, req) => {
          count('redis adapter');
          await attempt(async () => {
            if (typeof options === 'object' && options !== null && 'connection' in options) {
              const c = (options as { connection: unknown }).connection;
              if (typeof c === 'object' && c !== null && !Array.isArray(c)) return; // ioredis options: would connect
            }
            await redisRateLimitAdapter(options as never).close();
          });
          for (const method of ['consume', 'peek', 'refund', 'reset'] as const) {
            count('redis adapter');
            await attempt(() => redisAdapter[method](req as never));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the middlewares: hostile options, and hostile requests through valid ones', async () => {
    const fakeRes = () =>
      ({
        headersSent: false,
        statusCode: 200,
        setHeader() {},
        end() {},
      }) as unknown as ServerResponse;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostile, optionsLike(['limiter', 'key', 'cost', 'headers', 'ipv6Subnet', 'refundWhen'])),
        fc.oneof(
          hostile,
          fc.ipV6(),
          fc.ipV4Extended(),
          fc.ipV6().map((a) => `${a.toUpperCase()}%${'z'.repeat(9)}`),
        ),
        hostile,
        async (options, ip, sub) => {
          for (const factory of [
            rateLimitNode,
            rateLimitExpress,
            rateLimitFastify,
            rateLimitKoa,
            rateLimitHandler,
          ]) {
            count('middleware factories');
            await attempt(() => (factory as (o: unknown) => unknown)(options));
          }
          // A valid middleware facing a request whose address and subject are hostile: never a raw error.
          count('middleware requests');
          const node = rateLimitNode({ limiter: onMemory, key: 'subject' });
          const outcome = await attempt(() =>
            node({ socket: { remoteAddress: ip } } as unknown as IncomingMessage, fakeRes(), {
              claims: { sub },
              source: 'bearer',
            } as never),
          );
          expect(outcome).toBe('ok'); // client-controlled values are digested, never an error answer
          count('rateLimitIpKey');
          await attempt(() => rateLimitIpKey(ip as never, options as never));
          if (typeof ip === 'string') expect(typeof rateLimitIpKey(ip)).toBe('string');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rateLimitHeaders with hostile decisions', async () => {
    const decision = await onMemory.peek('headers');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostile,
          fc.record({ allowed: hostile, retryAfterMs: hostile, policies: hostile }, { requiredKeys: [] }),
          fc.array(hostile, { maxLength: 3 }).map((policies) => ({ ...decision, policies })),
          fc
            .record(
              { name: hostile, limit: hostile, remaining: hostile, resetMs: hostile, windowMs: hostile },
              { requiredKeys: [] },
            )
            .map((p) => ({ ...decision, policies: [{ ...decision.policies[0], ...p }] })),
        ),
        async (junk) => {
          count('rateLimitHeaders');
          await attempt(() => rateLimitHeaders(junk as never));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
