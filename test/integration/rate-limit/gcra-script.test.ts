import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taggedKey } from '../../../src/adapters/redis/keys.js';
import { GCRA_CONSUME_LUA_BODY } from '../../../src/adapters/redis/rate-limit-gcra-script.js';
import { redisRateLimitScripts } from '../../../src/adapters/redis/rate-limit-script.js';
import { defineRedisScript } from '../../../src/adapters/redis/scripts.js';
import { ruleSuffix } from '../../../src/rate-limit/algorithm.js';
import { type GcraState, gcra, gcraDebt, gcraTake, newGcraTaken } from '../../../src/rate-limit/gcra.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

// The production script takes `now` from Redis TIME; this twin takes it from
// its last argument, so the script and the functions run at the same chosen
// instants. Keys are kept 10^8 ms longer than asked (the chosen instants are
// not the server's); the extra is subtracted when TTLs are compared.
const EXTRA_TTL = 100_000_000;
const twinBody = GCRA_CONSUME_LUA_BODY.replace("'PX', whole + 1)", `'PX', whole + 1 + ${EXTRA_TTL})`).replace(
  "'PX', whole)",
  `'PX', whole + ${EXTRA_TTL})`,
);
const twin = defineRedisScript({
  name: 'rate-limit-gcra-twin',
  keys: 1,
  lua: `local now = tonumber(ARGV[4])\n${twinBody}`,
});

const limitAndWindow = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 1_000_000_000 })),
    fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 51, max: 100_000 }), fc.constant(60_000)),
  )
  .filter(([limit, windowMs]) => limit * windowMs <= 2 ** 50);

describe('the one-GCRA-limit script (real redis-server)', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the twin is the production script but for `now` and the TTL padding', () => {
    expect(twinBody).not.toBe(GCRA_CONSUME_LUA_BODY);
    expect(twinBody.match(new RegExp(String(EXTRA_TTL), 'g'))).toHaveLength(2);
    expect(redisRateLimitScripts.gcra.lua.endsWith(GCRA_CONSUME_LUA_BODY)).toBe(true);
    expect(redisRateLimitScripts.gcra.lua).toContain("redis.call('TIME')");
  });

  it('answers the debt the functions compute, and stores the text and TTL they would, for random consumes', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        limitAndWindow,
        fc.array(
          fc.record({
            cost: fc.integer({ min: 1, max: 60 }),
            gap: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 0, max: 40 }),
              fc.integer({ min: 0, max: 120_000 }),
            ),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        // Mostly today's 13-digit clock ('%d' writes), also 14 and 15 digits ('%.0f').
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(1_700_000_000_000) },
          fc.constant(10 ** 13 - 2 ** 31),
          fc.constant(10 ** 14 + 12_345),
        ),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async ([limit, windowMs], ops, epoch, offset) => {
          runs++;
          const key = taggedKey(uniquePrefix('gcra'), 'k', ruleSuffix('gcra', windowMs));
          let now = epoch + offset;
          let state: GcraState | undefined;
          let expiresAt = 0;
          let ttlMs = 0;
          for (const { cost: c, gap } of ops) {
            now += gap;
            const cost = 1 + ((c - 1) % limit);
            const live = expiresAt > now ? state : undefined;
            const reply = await twin.run(redis, [key], [cost, limit, windowMs, now]);
            expect(reply).toBe(gcraDebt(live, now, limit, windowMs));
            const out = newGcraTaken();
            gcraTake(live, now, limit, windowMs, cost, out);
            if (out.allowed) {
              state = { tat: out.tat, rem: out.rem };
              expiresAt = now + out.ttlMs;
              ttlMs = out.ttlMs;
            }
            if (expiresAt <= now) continue;
            expect(await redis.get(key)).toBe(gcra.encode(state!));
            const left = (await redis.pttl(key)) - EXTRA_TTL;
            expect(left).toBeLessThanOrEqual(ttlMs);
            expect(left).toBeGreaterThan(ttlMs - 5_000);
          }
          await redis.del(key);
        },
      ),
      { numRuns: 200 },
    );
    expect(runs).toBeGreaterThanOrEqual(200);
  }, 120_000);

  it('refuses exactly the stored text the functions cannot decode (scaleout:data 1), changing nothing', async () => {
    const digits = fc.oneof(
      fc.integer({ min: 0, max: 2_000_000_000_000 }).map(String),
      fc.stringMatching(/^[0-9]{1,20}$/),
      fc.constantFrom('', '-1', '1.5', '1e3', ' 1', '0x10'),
    );
    const text = fc.oneof(
      digits,
      fc.tuple(digits, digits).map(([a, b]) => `${a}:${b}`),
      fc.tuple(digits, digits, digits).map(([a, b, c]) => `${a}:${b}:${c}`),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.oneof(fc.constant(1_000), fc.integer({ min: 1, max: 100_000 })),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (stored, windowMs, offset) => {
          const now = 1_700_000_000_000 + offset;
          const key = taggedKey(uniquePrefix('junk'), 'k', ruleSuffix('gcra', windowMs));
          await redis.set(key, stored);
          const reply = await twin.run(redis, [key], [1, 5, windowMs, now]).then(
            (r) => r,
            (err: Error) => err,
          );
          const after = await redis.get(key);
          await redis.del(key);
          const decoded = gcra.decode(stored, windowMs, now);
          if (decoded === undefined) {
            expect(reply).toBeInstanceOf(Error);
            expect((reply as Error).message).toContain('scaleout:data 1');
            expect(after).toBe(stored);
          } else {
            expect(reply).toBe(gcraDebt(decoded, now, 5, windowMs));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the production scripts keep a key until its state runs out (server clock)', async () => {
    const prefix = uniquePrefix('ttl');
    // 3 per second: one unit is 333 1/3 ms, so the TAT is never a whole ms after 1 or 2 units.
    const key = taggedKey(prefix, 'k', 'g1000');
    for (const [units, ttlMs] of [
      [1, 334],
      [2, 667],
      [3, 1_000],
    ] as const) {
      await redisRateLimitScripts.gcra.run(redis, [key], [1, 3, 1_000]);
      const left = await redis.pttl(key);
      expect(left, `after ${units} unit(s)`).toBeLessThanOrEqual(ttlMs);
      expect(left, `after ${units} unit(s)`).toBeGreaterThan(ttlMs - 200);
    }
    // The general script, two limits at once: each key kept until its own state runs out.
    const keys = [taggedKey(prefix, 'm', 'g1000'), taggedKey(prefix, 'm', 'f60000')];
    await redisRateLimitScripts.decide.run(redis, keys, ['c', 1, 'g', 4, 1_000, 'f', 10, 60_000]);
    const [gcraLeft, fixedLeft] = await Promise.all(keys.map((k) => redis.pttl(k)));
    expect(gcraLeft).toBeLessThanOrEqual(250);
    expect(gcraLeft).toBeGreaterThan(50);
    // A fixed window's count is kept until its window ends (windows aligned to the epoch; same host clock).
    expect(Math.abs(fixedLeft! - (60_000 - (Date.now() % 60_000)))).toBeLessThan(1_000);
    await redis.del(key, ...keys);
  });

  it('a key of another type is refused as data (scaleout:data 1), and left as it is', async () => {
    const key = taggedKey(uniquePrefix('type'), 'k', 'g1000');
    await redis.rpush(key, '1');
    await expect(twin.run(redis, [key], [1, 5, 1_000, Date.now()])).rejects.toThrow(
      /scaleout:data 1 not a string key/,
    );
    expect(await redis.lrange(key, 0, -1)).toEqual(['1']);
    await redis.del(key);
  });
});
