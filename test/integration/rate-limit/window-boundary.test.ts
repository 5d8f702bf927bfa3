import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import type { RateLimitAlgorithm } from '../../../src/contracts/rate-limit.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { sleep } from '../../helpers/wait.js';

const LIMIT = 20;
const WINDOW_MS = 2_000;
const ALGORITHMS: RateLimitAlgorithm[] = ['gcra', 'sliding-window', 'fixed-window'];

async function serverNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * Two bursts of 2 x LIMIT consumes per algorithm on one key each: the first
 * ~350 ms before a window boundary (windows are aligned to the epoch, on
 * the server's clock), the second ~100 ms after it. Returns the allowed
 * counts and the server times around each burst; `undefined` when a burst
 * did not land on its side of the boundary (a stalled machine), to retry.
 */
async function bursts(redis: Redis, limiters: Map<RateLimitAlgorithm, RateLimiter>) {
  const now = await serverNow(redis);
  const boundary = now - (now % WINDOW_MS) + WINDOW_MS * (now % WINDOW_MS > WINDOW_MS - 600 ? 2 : 1);
  await sleep(boundary - 350 - (await serverNow(redis)));
  const key = uniquePrefix('k');
  const fire = () =>
    Promise.all(
      ALGORITHMS.map(async (algorithm) => {
        const decisions = await Promise.all(
          Array.from({ length: 2 * LIMIT }, () => limiters.get(algorithm)!.consume(key)),
        );
        return [algorithm, decisions.filter((d) => d.allowed).length] as const;
      }),
    );
  const firstStart = await serverNow(redis);
  const first = new Map(await fire());
  const firstEnd = await serverNow(redis);
  await sleep(boundary + 100 - (await serverNow(redis)));
  const secondStart = await serverNow(redis);
  const second = new Map(await fire());
  const secondEnd = await serverNow(redis);
  if (firstEnd >= boundary || secondStart < boundary) return undefined;
  return { first, second, firstStart, secondEnd, boundary };
}

describe('at a window boundary (real redis-server, 20 per 2 s)', () => {
  let server: RedisServer;
  let redis: Redis;
  const limiters = new Map<RateLimitAlgorithm, RateLimiter>();
  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
    for (const algorithm of ALGORITHMS) {
      limiters.set(
        algorithm,
        new RateLimiter({
          adapter: redisRateLimitAdapter({ connection: redis, prefix: uniquePrefix(algorithm) }),
          limits: { limit: LIMIT, windowMs: WINDOW_MS, algorithm },
          failOpen: false,
          operationTimeoutMs: 10_000,
        }),
      );
    }
  });
  afterAll(async () => {
    for (const l of limiters.values()) await l.close();
    await server?.stop();
  });

  it('GCRA and the sliding window do not double-burst; the fixed window lets twice the limit through', async () => {
    let run: Awaited<ReturnType<typeof bursts>>;
    for (let attempt = 0; attempt < 4 && run === undefined; attempt++) run = await bursts(redis, limiters);
    expect(run, 'the bursts never landed on both sides of a boundary').toBeDefined();
    const { first, second, firstStart, secondEnd, boundary } = run!;
    const spanMs = secondEnd - firstStart;
    expect(spanMs).toBeLessThan(WINDOW_MS / 2);
    for (const algorithm of ALGORITHMS) expect(first.get(algorithm), algorithm).toBe(LIMIT);
    // Fixed window: a fresh count after the boundary, so 2 x LIMIT within half a window.
    expect(second.get('fixed-window')).toBe(LIMIT);
    // GCRA: only what refilled since the first burst, one unit per 100 ms.
    expect(second.get('gcra')).toBeLessThanOrEqual(Math.floor((spanMs * LIMIT) / WINDOW_MS));
    // Sliding window: the previous window still weighs (2000 - elapsed) / 2000 of its 20.
    const elapsed = secondEnd - boundary;
    expect(second.get('sliding-window')).toBeLessThanOrEqual(Math.ceil((elapsed * LIMIT) / WINDOW_MS));
    for (const algorithm of ['gcra', 'sliding-window'] as const) {
      expect(first.get(algorithm)! + second.get(algorithm)!).toBeLessThan(1.5 * LIMIT);
    }
  }, 60_000);
});
