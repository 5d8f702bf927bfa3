/**
 * Junk written with a raw ioredis client into every key family of the
 * Redis rate-limit adapter (one string per limit: `<prefix>{<name>:<key>}:
 * g|s|f<window>`), then the limiter called on it: a typed error naming the
 * key (ERR_CORRUPT_DATA), or a documented reading; never a crash, a
 * fallback to the insurance limiter, or an effect on other keys. The junk
 * stays where it is (nothing is deleted behind the caller's back) until
 * `reset(key)` clears it.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisRateLimitAdapter, redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { CorruptDataError, isScaleoutError } from '../../src/errors.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import type { RateLimiterEvents } from '../../src/rate-limit/rate-limiter-events.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const LIMITS = [
  { limit: 10, windowMs: 10_000 },
  { limit: 100, windowMs: 60_000, algorithm: 'sliding-window' as const },
  { limit: 50, windowMs: 60_000, algorithm: 'fixed-window' as const },
];
const FAMILIES = ['gcra', 'sliding-window', 'fixed-window'] as const;

/** Junk for the key of one family; `now` is the server's clock in ms. */
function junk(
  family: (typeof FAMILIES)[number],
  now: number,
): Array<[label: string, write: (r: Redis, k: string) => Promise<unknown>]> {
  const windowMs = family === 'gcra' ? 10_000 : 60_000;
  const start = now - (now % windowMs);
  const text = (value: string) => (r: Redis, k: string) => r.set(k, value);
  return [
    ['a hash', (r, k) => r.hset(k, 'tat', '1')],
    ['a list', (r, k) => r.rpush(k, '1:0')],
    ['a set', (r, k) => r.sadd(k, '1:0')],
    ['a sorted set', (r, k) => r.zadd(k, 1, 'a')],
    ['a stream', (r, k) => r.xadd(k, '*', 'f', 'v')],
    ['an empty string', text('')],
    ['garbage', text('garbage')],
    // A lone number is a GCRA state (a TAT in whole ms): junk only for the windows.
    ...(family === 'gcra'
      ? []
      : ([['one number', text('123')]] as Array<[string, (r: Redis, k: string) => Promise<unknown>]>)),
    ['a number with a colon and nothing after', text('123:')],
    ['truncated', text(`${start}:`)],
    ['a negative number', text(`-${start}:3${family === 'sliding-window' ? ':1' : ''}`)],
    ['a decimal', text(`${start}.5:3${family === 'sliding-window' ? ':1' : ''}`)],
    ['too many digits', text(`${'9'.repeat(40)}:1${family === 'sliding-window' ? ':1' : ''}`)],
    ['an escaped __proto__ payload', text('{"\\u005f_proto__":{"polluted":true}}')],
    ['__proto__', text('__proto__')],
    ['JSON', text('{"tat":1}')],
    ['a huge value (1 MiB)', text(`${start}:${'1'.repeat(1024 * 1024)}`)],
    [
      'a state from the future (out of range)',
      text(
        family === 'gcra'
          ? `${now + 10 * windowMs}:0`
          : `${start + 5 * windowMs}:1${family === 'sliding-window' ? ':0' : ''}`,
      ),
    ],
    ...(family === 'gcra'
      ? []
      : ([
          ['an unaligned window start', text(`${start + 1}:1${family === 'sliding-window' ? ':0' : ''}`)],
        ] as Array<[string, (r: Redis, k: string) => Promise<unknown>]>)),
  ];
}

describe('foreign data in the rate limiter keys (real redis-server)', () => {
  let server: RedisServer;
  let raw: Redis;
  let adapter: RedisRateLimitAdapter;
  let limiter: RateLimiter;
  const events: Array<[keyof RateLimiterEvents, unknown]> = [];
  beforeAll(async () => {
    server = await startRedisServer();
    raw = server.client();
    adapter = redisRateLimitAdapter({ connection: server.client(), prefix: uniquePrefix('foreign') });
    limiter = new RateLimiter({ adapter, name: 'api', limits: LIMITS, operationTimeoutMs: 5_000 });
    for (const name of ['error', 'fallback'] as const) limiter.on(name, (e) => events.push([name, e]));
  });
  afterAll(async () => {
    await limiter?.close();
    await adapter?.close();
    await server?.stop();
  });

  async function serverNow(): Promise<number> {
    const [s, us] = await raw.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  for (const family of FAMILIES) {
    it(`${family} keys: every kind of junk is a CorruptDataError naming the key; other keys unaffected; reset clears it`, async () => {
      const index = FAMILIES.indexOf(family);
      let cases = 0;
      for (const [label, write] of junk(family, await serverNow())) {
        cases++;
        const key = `victim-${family}-${cases}`;
        const good = `bystander-${family}-${cases}`;
        expect((await limiter.consume(good)).remaining).toBe(9);
        const redisKey = adapter.keysOf(`api:${key}`, limiter.policies)[index]!;
        await write(raw, redisKey);
        const stored = await raw.dump(redisKey);
        events.length = 0;
        for (const call of [() => limiter.consume(key), () => limiter.peek(key), () => limiter.refund(key)]) {
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, label).toBeInstanceOf(CorruptDataError);
          expect(isScaleoutError(err, 'ERR_CORRUPT_DATA')).toBe(true);
          expect((err as CorruptDataError).key, label).toBe(redisKey);
          expect((err as Error).message).not.toContain('polluted');
        }
        // Reported, never an outage: no fallback, decisions stay on Redis.
        expect(events.map(([name]) => name)).toEqual(['error', 'error', 'error']);
        expect(limiter.degraded).toBe(false);
        // Nothing was changed behind the caller's back: the junk is still there, as it was.
        expect(await raw.dump(redisKey)).toEqual(stored);
        // The other limits of the same key were not touched either (all or none).
        for (const [i, other] of adapter.keysOf(`api:${key}`, limiter.policies).entries()) {
          if (i !== index) expect(await raw.exists(other)).toBe(0);
        }
        // Other keys keep deciding on Redis.
        expect(await limiter.consume(good)).toMatchObject({ allowed: true, remaining: 8, source: 'adapter' });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        // reset(key) clears the junk; the key works again.
        await limiter.reset(key);
        expect(await limiter.consume(key)).toMatchObject({ allowed: true, remaining: 9 });
      }
      expect(cases).toBeGreaterThanOrEqual(16);
    }, 60_000);
  }

  /**
   * Consumes `key`, whose state at `redisKey` is junk: a CorruptDataError
   * naming that key, the junk and the key's other states (`untouched`)
   * left as they were, no switch to the insurance limiter, other keys
   * deciding on Redis, and the key working again after reset(key).
   */
  async function expectJunkRefused(
    limiter: RateLimiter,
    key: string,
    redisKey: string,
    label: string,
    untouched: readonly string[],
    bystander: string,
  ): Promise<void> {
    const stored = await raw.dump(redisKey);
    const err = await limiter.consume(key).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, label).toBeInstanceOf(CorruptDataError);
    expect((err as CorruptDataError).key, label).toBe(redisKey);
    expect((err as Error).message).not.toContain('polluted');
    expect(await raw.dump(redisKey)).toEqual(stored);
    for (const other of untouched) expect(await raw.exists(other)).toBe(0);
    expect(limiter.degraded).toBe(false);
    expect(await limiter.consume(bystander)).toMatchObject({ allowed: true, remaining: 9 });
    await limiter.reset(key);
    expect(await limiter.consume(key)).toMatchObject({ allowed: true, remaining: 9 });
  }

  it('one GCRA limit (its own lean script): every kind of junk is a CorruptDataError naming the key, changing nothing', async () => {
    const single = new RateLimiter({ adapter, name: 'one', limits: LIMITS[0]!, operationTimeoutMs: 5_000 });
    const seen: string[] = [];
    single.on('error', () => seen.push('error'));
    single.on('fallback', () => seen.push('fallback'));
    let cases = 0;
    for (const [label, write] of junk('gcra', await serverNow())) {
      cases++;
      const key = `lone-${cases}`;
      const redisKey = adapter.keysOf(`one:${key}`, single.policies)[0]!;
      await write(raw, redisKey);
      await expectJunkRefused(single, key, redisKey, label, [], `bystander-${cases}`);
    }
    expect(seen).toEqual(Array(cases).fill('error'));
    expect(cases).toBeGreaterThanOrEqual(16);
    await single.close();
  }, 60_000);

  it('two limits in one script (a GCRA limit then a sliding window): junk in either key is a CorruptDataError naming it, changing nothing', async () => {
    const pair = new RateLimiter({
      adapter,
      name: 'pair',
      limits: LIMITS.slice(0, 2),
      operationTimeoutMs: 5_000,
    });
    const seen: string[] = [];
    pair.on('error', () => seen.push('error'));
    pair.on('fallback', () => seen.push('fallback'));
    let cases = 0;
    for (const family of ['gcra', 'sliding-window'] as const) {
      const index = FAMILIES.indexOf(family);
      for (const [label, write] of junk(family, await serverNow())) {
        cases++;
        const key = `pair-${cases}`;
        const keys = adapter.keysOf(`pair:${key}`, pair.policies);
        const redisKey = keys[index]!;
        await write(raw, redisKey);
        await expectJunkRefused(pair, key, redisKey, label, [keys[1 - index]!], `bystander-${cases}`);
      }
    }
    expect(seen).toEqual(Array(cases).fill('error'));
    expect(cases).toBeGreaterThanOrEqual(32);
    await pair.close();
  }, 60_000);

  it('numbers in range but over the limit (a lowered limit, or a foreign count) deny until the state runs out, then read as empty', async () => {
    const now = await serverNow();
    const key = 'over-the-limit';
    const [gcraKey, slidingKey, fixedKey] = adapter.keysOf(`api:${key}`, limiter.policies);
    const start = now - (now % 60_000);
    await raw.set(fixedKey!, `${start}:999999999999999`, 'PX', 60_000);
    const denied = await limiter.consume(key);
    expect(denied).toMatchObject({ allowed: false, remaining: 0, source: 'adapter' });
    expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
    // A fixed-window count left from the previous window reads as no count at all.
    await raw.set(fixedKey!, `${start - 60_000}:999999999999999`);
    await raw.set(slidingKey!, `${start - 120_000}:999:999`);
    await raw.set(gcraKey!, `${now - 1}:5`);
    expect(await limiter.consume(key)).toMatchObject({ allowed: true, remaining: 9 });
  });
});
