import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { rateLimitNode } from '../../../src/rate-limit/rate-limit-node.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

interface Arrival {
  at: number;
  status: number;
  retryAfterS: number | undefined;
}

/** A server limited to 2 requests per 2 s per client address (one more every second), logging each arrival. */
async function limitedServer(
  limiter: RateLimiter,
): Promise<{ url: string; arrivals: Arrival[]; server: Server }> {
  const arrivals: Arrival[] = [];
  const limit = rateLimitNode({ limiter });
  const server = createServer(async (req, res) => {
    const at = Date.now();
    const ok = await limit(req, res);
    if (ok) res.end(JSON.stringify({ ok: true }));
    const retryAfter = res.getHeader('retry-after');
    arrivals.push({
      at,
      status: res.statusCode,
      retryAfterS: retryAfter === undefined ? undefined : Number(retryAfter),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals, server };
}

describe('a scaleout client and a rate-limited scaleout server cooperate (Retry-After)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const limiter = () =>
    new RateLimiter({
      adapter: redisRateLimitAdapter({ connection: redis.client(), prefix: uniquePrefix('coop') }),
      limits: { limit: 2, windowMs: 2_000 },
    });

  it('ServiceClient backs off for Retry-After after a 429 and gets every call through; a naive loop hammers', async () => {
    const cooperative = limiter();
    const { url, arrivals, server } = await limitedServer(cooperative);
    const client = new ServiceClient(
      { baseUrl: url },
      { retry: { maxAttempts: 4 }, retryBudget: false, deadlineMs: 15_000 },
    );
    try {
      for (let i = 0; i < 6; i++) expect(await client.get('/work')).toEqual({ ok: true });
    } finally {
      await client.close();
      server.close();
    }
    const limited = arrivals.filter((a) => a.status === 429);
    expect(arrivals.filter((a) => a.status === 200)).toHaveLength(6);
    expect(limited.length).toBeGreaterThan(0); // the limit was met...
    expect(limited.length).toBeLessThanOrEqual(4); // ...and not hammered: at most one 429 per call after the burst
    // After each 429 the client's next request came no sooner than Retry-After said.
    for (let i = 0; i < arrivals.length - 1; i++) {
      const a = arrivals[i]!;
      if (a.status !== 429) continue;
      expect(a.retryAfterS).toBe(1);
      expect(arrivals[i + 1]!.at - a.at).toBeGreaterThanOrEqual(a.retryAfterS! * 1000);
    }

    // The contrast: a client that ignores Retry-After sends request after request. A fixed count
    // (not a fixed second, which a loaded machine would fill with fewer requests): 60 requests
    // within a few seconds meet a limit of 2 per 2 s at least 50 times.
    const naive = limiter();
    const other = await limitedServer(naive);
    for (let i = 0; i < 60; i++) await fetch(`${other.url}/work`).then((r) => r.arrayBuffer());
    other.server.close();
    const naiveLimited = other.arrivals.filter((a) => a.status === 429).length;
    expect(naiveLimited).toBeGreaterThan(10 * limited.length);
    await cooperative.close();
    await naive.close();
  }, 30_000);
});
