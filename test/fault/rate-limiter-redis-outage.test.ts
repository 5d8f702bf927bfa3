import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { isScaleoutError } from '../../src/errors.js';
import type { RateLimitDecision } from '../../src/rate-limit/rate-limit-decision.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import type { RateLimiterEvents } from '../../src/rate-limit/rate-limiter-events.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const OPERATION_TIMEOUT_MS = 250;
/** What a decision may take beyond the operation timeout on a loaded 2-core machine. */
const SLACK_MS = 400;

async function timed(
  fn: () => Promise<RateLimitDecision>,
): Promise<{ decision: RateLimitDecision; ms: number }> {
  const started = performance.now();
  const decision = await fn();
  return { decision, ms: performance.now() - started };
}

describe('RateLimiter when redis-server is killed and restarted', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails open: decisions continue within the operation timeout from the insurance limiter, and return to Redis after the restart', async () => {
    const limiter = new RateLimiter({
      // A connection the adapter owns: ioredis reconnects by itself, as in production.
      adapter: redisRateLimitAdapter({ connection: server.url, prefix: uniquePrefix('outage') }),
      limits: { limit: 10, windowMs: 60_000 },
      instances: 2,
      operationTimeoutMs: OPERATION_TIMEOUT_MS,
      probeIntervalMs: 200,
    });
    const events: Array<[keyof RateLimiterEvents, unknown]> = [];
    for (const name of ['error', 'fallback', 'recovered'] as const) {
      limiter.on(name, (payload) => events.push([name, payload]));
    }
    for (let i = 0; i < 3; i++) expect((await limiter.consume('api')).source).toBe('adapter');

    await server.kill();
    const during: Array<{ decision: RateLimitDecision; ms: number }> = [];
    for (let i = 0; i < 12; i++) during.push(await timed(() => limiter.consume('api')));
    // Every decision answered, none slower than the operation timeout (plus scheduling slack).
    expect(Math.max(...during.map((d) => d.ms))).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
    expect(during.every((d) => d.decision.source === 'insurance')).toBe(true);
    // The insurance limiter allows floor(10 / 2) = 5 per key in this process, then denies.
    expect(during.filter((d) => d.decision.allowed)).toHaveLength(5);
    expect(during[0]!.decision.limit).toBe(5);
    expect(during.at(-1)!.decision).toMatchObject({ allowed: false, remaining: 0 });
    // Only the first waited for the timeout; the rest answered at once.
    expect(during.slice(1).every((d) => d.ms < OPERATION_TIMEOUT_MS)).toBe(true);
    expect(events[0]).toEqual(['error', expect.objectContaining({ operation: 'consume', key: 'api' })]);
    const cause = (events[0]![1] as RateLimiterEvents['error']).error;
    expect(isScaleoutError(cause, 'ERR_TIMEOUT') || isScaleoutError(cause, 'ERR_CONNECTION')).toBe(true);
    expect(events[1]![0]).toBe('fallback');
    expect(limiter.degraded).toBe(true);

    await server.restart();
    const downSince = performance.now();
    // Calls keep coming; a background probe finds Redis back (its script cache is empty: NOSCRIPT, then EVAL).
    await until(
      'decisions from Redis again',
      async () => (await limiter.consume('after')).source === 'adapter',
      20_000,
      50,
    );
    const recovered = events.find(([name]) => name === 'recovered');
    expect(recovered).toBeDefined();
    expect((recovered![1] as RateLimiterEvents['recovered']).downMs).toBeGreaterThan(0);
    expect(limiter.degraded).toBe(false);
    // Back on Redis: the data went with the crash (no persistence), so the key starts afresh. The
    // consume that timed out when Redis died may have waited in ioredis' offline queue and been
    // counted once Redis was back (a timed-out call may still count, as documented): 9 or 8 left.
    const back = await limiter.consume('api');
    expect(back).toMatchObject({ source: 'adapter', limit: 10 });
    expect([8, 9]).toContain(back.remaining);
    expect(performance.now() - downSince).toBeLessThan(20_000);
    await limiter.adapter.close();
    await limiter.close();
  }, 60_000);

  it('with failOpen: false, denies with a typed error within the operation timeout, and recovers after the restart', async () => {
    const limiter = new RateLimiter({
      adapter: redisRateLimitAdapter({ connection: server.url, prefix: uniquePrefix('closed') }),
      limits: { limit: 10, windowMs: 60_000 },
      failOpen: false,
      operationTimeoutMs: OPERATION_TIMEOUT_MS,
    });
    expect((await limiter.consume('api')).allowed).toBe(true);
    await server.kill();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const err = await limiter.consume('api').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
      expect(isScaleoutError(err, 'ERR_TIMEOUT') || isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
    }
    expect(limiter.degraded).toBe(false);
    await server.restart();
    await until(
      'Redis to answer again',
      () =>
        limiter.consume('api').then(
          (d) => d.source === 'adapter',
          () => false,
        ),
      20_000,
      50,
    );
    await limiter.adapter.close();
    await limiter.close();
  }, 60_000);
});
