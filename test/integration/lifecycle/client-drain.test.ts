/**
 * The client side of a deploy: an instance that refuses a request because
 * it is draining (the marked 503 of ServiceLifecycle) or closes an idle
 * kept-alive socket as a request is sent on it: the request never started,
 * so ServiceClient sends it to another instance whatever its method; and a
 * deregistered instance leaves every registry view at once (measured on a
 * real redis-server through the announcement).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { DRAINING_HEADER } from '../../../src/lifecycle/http-drain.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(handler: http.RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const s = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits };
}

const draining: http.RequestListener = (_req, res) => {
  res.writeHead(503, { [DRAINING_HEADER]: '1', Connection: 'close', 'Retry-After': '0' });
  res.end('draining\n');
};

describe('ServiceClient and a draining instance', () => {
  it('retries a POST without idempotency key refused by a draining instance on another one', async () => {
    const a = await server(draining);
    const b = await server((_req, res) => res.end(JSON.stringify({ ok: true })));
    const registry = new ServiceRegistry();
    cleanups.push(() => registry.close());
    await registry.register('orders', a.url);
    await registry.register('orders', b.url);
    const client = new ServiceClient(
      { service: 'orders', registry },
      { retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 5 } } },
    );
    cleanups.push(() => client.close());
    for (let i = 0; i < 10; i++) {
      await expect(client.post('/orders', { i })).resolves.toEqual({ ok: true });
    }
    expect(a.hits()).toBeGreaterThan(0); // the draining one was tried, and its refusals retried
    expect(b.hits()).toBe(10); // each POST ran exactly once
  });

  it('does not retry a POST answered by a plain 503 (it may have run)', async () => {
    const a = await server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = new ServiceClient(
      { baseUrl: a.url },
      { retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 5 } } },
    );
    cleanups.push(() => client.close());
    await expect(client.post('/orders', {})).rejects.toMatchObject({ code: 'ERR_HTTP_STATUS' });
    expect(a.hits()).toBe(1);
  });

  it('counts a drain refusal as overloaded, not as a failure of the instance', async () => {
    const a = await server(draining);
    const client = new ServiceClient({ baseUrl: a.url }, { retry: { maxAttempts: 1 } });
    cleanups.push(() => client.close());
    const outcomes: string[] = [];
    client.on('attempt', (e) => outcomes.push(e.outcome));
    for (let i = 0; i < 8; i++) await client.get('/x').catch(() => {});
    expect(outcomes).toEqual(Array(8).fill('overloaded'));
    expect(client.breakerState()).toBe('closed');
  });
});

describe('deregistration through the announcement (real redis-server)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('every view drops a deregistered instance within milliseconds, long before its lease ends', async () => {
    const prefix = uniquePrefix('lifecycle-dereg');
    const owner = new ServiceRegistry({
      adapter: redisRegistryAdapter({ connection: redis.client(), prefix }),
    });
    const viewers = [0, 1, 2].map(
      () => new ServiceRegistry({ adapter: redisRegistryAdapter({ connection: redis.client(), prefix }) }),
    );
    cleanups.push(() => owner.close(), ...viewers.map((v) => () => v.close()));
    const registration = await owner.register('pricing', 'http://127.0.0.1:1/', { ttlMs: 30_000 });
    await owner.register('pricing', 'http://127.0.0.1:2/', { ttlMs: 30_000 });
    await Promise.all(viewers.map((v) => v.watch('pricing')));
    const samples: number[] = [];
    for (let round = 0; round < 3; round++) {
      if (round > 0) await owner.register('pricing', 'http://127.0.0.1:1/', { ttlMs: 30_000 });
      const back = viewers.map(
        (v) =>
          new Promise<void>((resolve) => {
            const poll = (): void => {
              if (v.pick('pricing', { exclude: new Set(['http://127.0.0.1:2/']) }).id) resolve();
            };
            const timer = setInterval(() => {
              try {
                poll();
                clearInterval(timer);
              } catch {}
            }, 1);
          }),
      );
      await Promise.all(back);
      const gone = viewers.map(
        (v) =>
          new Promise<number>((resolve) => {
            const stop = v.on('change', (c) => {
              if (c.type === 'down' && c.instance.id === 'http://127.0.0.1:1/') {
                stop();
                resolve(performance.now());
              }
            });
          }),
      );
      const t0 = performance.now();
      await (round === 0 ? registration.deregister() : owner.deregister('pricing', 'http://127.0.0.1:1/'));
      const at = await Promise.all(gone);
      for (const t of at) samples.push(t - t0);
      for (const v of viewers) {
        for (let i = 0; i < 20; i++) expect(v.pick('pricing').id).toBe('http://127.0.0.1:2/');
      }
    }
    samples.sort((x, y) => x - y);
    const p50 = samples[Math.floor(samples.length / 2)]!;
    const max = samples.at(-1)!;
    console.log(
      `deregistration seen by 3 views x 3 rounds: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms (lease 30 s)`,
    );
    expect(max).toBeLessThan(5_000); // far below the 30 s lease: the announcement, not the expiry
  });
});
