import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency, idempotencyNode, ServiceClient } from '../../../src/index.js';
import { redisIdempotencyStore } from '../../../src/redis.js';
import { type FaultProxy, startFaultProxy } from '../../helpers/fault-proxy.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** A payments server: each POST commits a side effect per `op`, honouring keys or not. */
async function paymentsServer(keys: Idempotency | undefined) {
  const commits = new Map<string, number>();
  const guard = keys === undefined ? undefined : idempotencyNode(keys, { required: true });
  const readJson = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString()) as { op: string };
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    if (guard !== undefined && !(await guard(req, res, { body }))) return;
    const n = (commits.get(body.op) ?? 0) + 1;
    commits.set(body.op, n);
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ op: body.op, charge: `ch-${body.op}` }));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, commits, port: (server.address() as AddressInfo).port };
}

async function drive(calls: number, concurrency: number, call: (i: number) => Promise<unknown>) {
  let next = 0;
  let ok = 0;
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const i = next++;
        try {
          await call(i);
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    }),
  );
  return { ok, failures };
}

describe('end to end: ServiceClient POSTs with keys, responses lost after the server committed', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const CALLS = 200;
  /**
   * The client retries a POST only because it carries a key. A fifth of the
   * answers is lost, so its load-shedding policies (retry budget, breaker)
   * are off: every call may retry, which is what this test is about.
   */
  const client = (proxy: FaultProxy) =>
    new ServiceClient(
      { baseUrl: `http://127.0.0.1:${proxy.port}` },
      { retry: { maxAttempts: 6, backoff: { baseMs: 5, maxMs: 50 } }, retryBudget: false, breaker: false },
    );

  it('with idempotency() on Redis: 100% success and 0 duplicate effects', async () => {
    const keys = new Idempotency({
      adapter: redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('e2e') }),
      waitMs: 5_000,
    });
    const replays: string[] = [];
    keys.on('replayed', (e) => replays.push(e.key));
    const app = await paymentsServer(keys);
    const proxy = await startFaultProxy({ port: app.port });
    proxy.setMode({ kind: 'lose-responses', rate: 0.2, seed: 7 });
    const c = client(proxy);
    try {
      const r = await drive(CALLS, 4, async (i) => {
        const body = await c.post<{ op: string; charge: string }>(
          '/charges',
          { op: `op-${i}` },
          {
            idempotencyKey: `key-${i}`,
          },
        );
        expect(body).toEqual({ op: `op-${i}`, charge: `ch-op-${i}` });
      });
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(CALLS);
      expect(proxy.lost).toBeGreaterThan(CALLS / 10);
      // Every lost answer was committed once and replayed to the retry.
      expect([...app.commits.values()].filter((n) => n !== 1)).toEqual([]);
      expect(app.commits.size).toBe(CALLS);
      expect(replays.length).toBeGreaterThan(0);
      console.log(
        `e2e: ${CALLS} POSTs, ${proxy.lost} responses lost after commit, ${r.ok} succeeded, ` +
          `${replays.length} replays, ${[...app.commits.values()].filter((n) => n > 1).length} duplicate effects`,
      );
    } finally {
      await c.close();
      await proxy.close();
      app.server.close();
      await keys.close();
      await keys.adapter.close();
    }
  }, 120_000);

  it('at the client defaults (retry budget and breaker on): 100% success, 0 duplicate effects', async () => {
    const keys = new Idempotency({
      adapter: redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('e2e-defaults') }),
    });
    const app = await paymentsServer(keys);
    const proxy = await startFaultProxy({ port: app.port });
    proxy.setMode({ kind: 'lose-responses', rate: 0.2, seed: 7 });
    const c = new ServiceClient({ baseUrl: `http://127.0.0.1:${proxy.port}` });
    const refused: string[] = [];
    c.on('retry-budget-exhausted', () => refused.push('budget'));
    c.on('breaker-state-change', (e) => refused.push(`breaker ${e.to}`));
    const calls = 2 * CALLS;
    try {
      const r = await drive(calls, 4, (i) =>
        c.post('/charges', { op: `op-${i}` }, { idempotencyKey: `key-${i}` }),
      );
      expect(r.failures.map((e) => (e as { code?: string }).code)).toEqual([]);
      expect(r.ok).toBe(calls);
      expect(refused).toEqual([]);
      expect(proxy.lost).toBeGreaterThan(calls / 10);
      expect([...app.commits.values()].filter((n) => n !== 1)).toEqual([]);
      expect(app.commits.size).toBe(calls);
    } finally {
      await c.close();
      await proxy.close();
      app.server.close();
      await keys.close();
      await keys.adapter.close();
    }
  }, 120_000);

  it('an upstream that resets every connection: at most two sends per attempt, then the breaker fails calls fast', async () => {
    const app = await paymentsServer(undefined);
    const proxy = await startFaultProxy({ port: app.port });
    proxy.setMode({ kind: 'reset' });
    const c = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${proxy.port}` },
      { retry: { backoff: { baseMs: 1, maxMs: 5 } } },
    );
    const attempts: string[] = [];
    c.on('attempt', (e) => attempts.push(e.outcome));
    try {
      const r = await drive(20, 1, (i) =>
        c.post('/charges', { op: `op-${i}` }, { idempotencyKey: `key-${i}` }),
      );
      expect(r.ok).toBe(0);
      // The breaker opens after 5 failed attempts (its default): the rest fail fast.
      expect(attempts.length).toBeLessThanOrEqual(6);
      expect(attempts.every((o) => o === 'connection-reset')).toBe(true);
      // Connections: at most two sends per attempt, plus the bare connect that checks an
      // instance after each failed attempt (it sends nothing) and the one as the circuit opens.
      expect(proxy.accepted).toBeLessThanOrEqual(3 * attempts.length + 1);
      expect(
        r.failures.filter((e) => (e as { code?: string }).code === 'ERR_CIRCUIT_OPEN').length,
      ).toBeGreaterThan(10);
      expect(app.commits.size).toBe(0);
    } finally {
      await c.close();
      await proxy.close();
      app.server.close();
    }
  }, 60_000);

  it('without it (control): the same retries commit effects twice', async () => {
    const app = await paymentsServer(undefined);
    const proxy = await startFaultProxy({ port: app.port });
    proxy.setMode({ kind: 'lose-responses', rate: 0.2, seed: 7 });
    const c = client(proxy);
    try {
      await drive(CALLS, 4, (i) => c.post('/charges', { op: `op-${i}` }, { idempotencyKey: `key-${i}` }));
      expect(proxy.lost).toBeGreaterThan(0);
      expect([...app.commits.values()].filter((n) => n > 1).length).toBeGreaterThan(0);
    } finally {
      await c.close();
      await proxy.close();
      app.server.close();
    }
  }, 120_000);
});
