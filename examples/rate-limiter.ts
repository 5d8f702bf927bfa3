/**
 * `npm run example:rate-limiter`: exact limits, several at once, over HTTP with a client that
 * honours Retry-After, and failing open. Memory adapter by default; REDIS_URL to use Redis.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  memoryRateLimitAdapter,
  type RateLimitAdapter,
  RateLimiter,
  type RateLimiterOptions,
  rateLimitNode,
  ServiceClient,
} from 'scaleout';
import { redisRateLimitAdapter } from 'scaleout/redis';

const url = process.env.REDIS_URL;
const adapters: RateLimitAdapter[] = [];
function limiter(options: Omit<RateLimiterOptions, 'adapter'>): RateLimiter {
  const prefix = `example:${process.pid}:`;
  adapters.push(url ? redisRateLimitAdapter({ connection: url, prefix }) : memoryRateLimitAdapter());
  return new RateLimiter({ ...options, adapter: adapters.at(-1)! });
}

// 1. 37 per 10 s, 200 concurrent attempts: exactly 37 pass (GCRA, the default).
const checkout = limiter({ name: 'checkout', limits: { limit: 37, windowMs: 10_000 } });
const burst = await Promise.all(Array.from({ length: 200 }, () => checkout.consume('cart:42')));
const last = burst.find((d) => !d.allowed)!;
console.log(`burst: ${burst.filter((d) => d.allowed).length}/200 allowed, next in ${last.retryAfterMs} ms`);

// 2. "5 per second and 20 per minute", all or none: a denial takes nothing from the other limit.
const api = limiter({
  name: 'api',
  limits: [
    { limit: 5, windowMs: 1_000, name: 'burst' },
    { limit: 20, windowMs: 60_000, algorithm: 'sliding-window', name: 'minute' },
  ],
});
const tries = await Promise.all(Array.from({ length: 8 }, () => api.consume('user:ada')));
const left = (await api.peek('user:ada')).policies.map((p) => `${p.name} ${p.remaining}`).join(', ');
console.log(`two limits: ${tries.filter((d) => d.allowed).length}/8 allowed; left: ${left}`);

// 3. Over HTTP: 429 with Retry-After and RateLimit headers; ServiceClient waits, then succeeds.
const perIp = limiter({ name: 'http', limits: { limit: 2, windowMs: 2_000 } });
const guard = rateLimitNode({ limiter: perIp });
const statuses: number[] = [];
const server = createServer(async (req, res) => {
  const ok = await guard(req, res);
  statuses.push(res.statusCode);
  if (ok) res.end(JSON.stringify({ ok: true, policy: res.getHeader('ratelimit') }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const client = new ServiceClient(
  { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
  { retryBudget: false },
);
for (let i = 0; i < 4; i++) await client.get('/work');
console.log(`http: statuses seen by the server ${statuses.join(' ')}; every call succeeded`);
await client.close();
server.close();

// 4. Fail open: Redis unreachable, so decisions come from the in-process insurance limiter.
const unreachable = redisRateLimitAdapter({
  connection: { port: 1, lazyConnect: true, maxRetriesPerRequest: 0 },
});
const insured = new RateLimiter({
  adapter: unreachable,
  limits: { limit: 10, windowMs: 1_000 },
  instances: 2,
  operationTimeoutMs: 200,
});
const down = await Promise.all(Array.from({ length: 8 }, () => insured.consume('k')));
console.log(
  `fail open: ${down.filter((d) => d.allowed).length}/8 allowed (10 / 2 instances), source ${down[0]!.source}`,
);

for (const l of [checkout, api, perIp, insured]) await l.close();
for (const a of [...adapters, unreachable]) await a.close();
