import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readDeadline } from '../../src/client/deadline.js';
import { ServiceClient } from '../../src/client/service-client.js';
import type { UpstreamSource } from '../../src/contracts/upstream.js';
import {
  BulkheadFullError,
  CircuitOpenError,
  ConnectionError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from '../../src/errors.js';
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function upstream(): Promise<FakeUpstream> {
  const u = await startFakeUpstream();
  cleanups.push(() => u.close());
  return u;
}
function client(...args: ConstructorParameters<typeof ServiceClient>): ServiceClient {
  const c = new ServiceClient(...args);
  cleanups.push(() => c.close());
  return c;
}
const quick = { backoff: { baseMs: 5, maxMs: 20 } };
const frozen = { now: () => 1_000_000, monotonic: () => 0 };

describe('ServiceClient against a real upstream on loopback', () => {
  it('no duplicate side effect: a POST reset after commit is not replayed without an idempotency key', async () => {
    const up = await upstream();
    up.set({ resetAfterCommit: true });
    const c = client({ baseUrl: up.url }, { retry: quick });
    await expect(c.post('/orders', { op: 'order-1' })).rejects.toBeInstanceOf(ConnectionError);
    expect(up.commits.get('order-1')).toBe(1);
    expect(up.requests).toBe(1);
  });

  it('errors carry no secret: no Authorization header or query token in the error or its cause', async () => {
    const up = await upstream();
    up.set({ resetBeforeCommit: true });
    const c = client({ baseUrl: up.url }, { retry: { maxAttempts: 1 } });
    const err = await c
      .get('/orders?token=s3cr3t-query', { headers: { authorization: 'Bearer s3cr3t-header' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    const everything = inspect(err, { depth: 20, showHidden: true });
    expect(everything).not.toContain('s3cr3t');
    expect((err as Error).message).toContain('GET /orders');
  });

  it('with an idempotency key, a POST reset after commit is retried and the server dedupes it', async () => {
    const up = await upstream();
    up.set({ resetAfterCommit: true, resetAfterCommitTimes: 1 });
    const c = client({ baseUrl: up.url }, { retry: quick });
    const body = await c.post<{ op: string }>('/orders', { op: 'order-2' }, { idempotencyKey: 'k-2' });
    expect(body.op).toBe('order-2');
    expect(up.requests).toBe(2);
    expect(up.idempotencyKeys).toEqual(['k-2', 'k-2']);
    expect(up.duplicateCommits()).toBe(0);
  });

  it('a keyed POST whose answer is lost once is sent again within its attempt (no retry, no budget token)', async () => {
    const up = await upstream();
    up.set({ resetAfterCommit: true, resetAfterCommitTimes: 1 });
    const c = client(
      { baseUrl: up.url },
      { retry: { ...quick, maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } },
    );
    const seen: string[] = [];
    c.on('attempt', (e) => seen.push(e.outcome));
    c.on('retry', () => seen.push('retry'));
    const body = await c.post<{ op: string }>('/orders', { op: 'order-3' }, { idempotencyKey: 'k-3' });
    expect(body.op).toBe('order-3');
    expect(seen).toEqual(['success']);
    expect(up.idempotencyKeys).toEqual(['k-3', 'k-3']);
    // Without a key the same loss is the caller's error: a POST is never sent twice.
    up.set({ resetAfterCommit: true, resetAfterCommitTimes: 1 });
    up.resetCounts();
    await expect(c.post('/orders', { op: 'order-4' })).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    expect(up.requests).toBe(1);
  });

  it('a GET reset before commit is retried and succeeds', async () => {
    const up = await upstream();
    up.set({ resetBeforeCommit: true });
    const c = client({ baseUrl: up.url }, { retry: quick });
    const seen: string[] = [];
    c.on('attempt', (e) => {
      seen.push(e.outcome);
      if (seen.length === 1) up.set({ resetBeforeCommit: false });
    });
    await expect(c.get('/stock')).resolves.toMatchObject({ ok: true });
    expect(seen).toEqual(['connection-reset', 'success']);
  });

  it('an attempt timeout on a hanging upstream aborts the request and frees its socket', async () => {
    const up = await upstream();
    up.set({ hang: true });
    const c = client({ baseUrl: up.url }, { attemptTimeoutMs: 100, retry: { maxAttempts: 1 } });
    const err = await c.get('/slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    await until('every connection to close', () => up.openConnections === 0);
  });

  it('the slowest call ends at its deadline, retries and backoff included', async () => {
    const up = await upstream();
    up.set({ hang: true });
    const c = client(
      { baseUrl: up.url },
      { attemptTimeoutMs: 120, deadlineMs: 300, retry: { maxAttempts: 10, ...quick } },
    );
    const started = Date.now();
    const err = await c.get('/slow').catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/deadline/);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(300 + 1_500); // generous: a loaded machine
    expect(up.requests).toBeGreaterThanOrEqual(2);
  });

  it('honours Retry-After on 429 and on 503', async () => {
    const up = await upstream();
    up.set({ failNext: 1, failStatus: 429, retryAfter: '1' });
    const c = client({ baseUrl: up.url }, { retry: quick });
    const delays: number[] = [];
    c.on('retry', (e) => delays.push(e.delayMs));
    await expect(c.get('/x')).resolves.toMatchObject({ ok: true });
    expect(delays).toEqual([1_000]);
    up.set({ failNext: 1, failStatus: 503, retryAfter: '5' });
    await expect(c.get('/x', { deadlineMs: 1_000 })).rejects.toMatchObject({ status: 503 });
    expect(delays).toEqual([1_000]); // not retried: 5 s would pass the deadline
  });

  it('nested calls share one budget through the deadline header', async () => {
    const up = await upstream();
    const inner = client({ baseUrl: up.url });
    const middle: Server = createServer(async (req, res) => {
      const deadlineAt = readDeadline(req);
      await new Promise((r) => setTimeout(r, 50)); // work before the nested call
      const data = await inner.get('/leaf', { deadlineAt });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data));
    });
    const port = await freePort();
    await new Promise<void>((r) => middle.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => middle.close(r)));
    const outer = client({ baseUrl: `http://127.0.0.1:${port}` }, { deadlineMs: 800 });
    await expect(outer.get('/quote')).resolves.toMatchObject({ path: '/leaf' });
    expect(up.deadlines).toHaveLength(1);
    expect(up.deadlines[0]).toBeLessThanOrEqual(800 - 30); // the 50 ms of work were spent from the same budget
    expect(up.deadlines[0]).toBeGreaterThan(0);
  });

  it('with 5% of requests failing, >= 99.7% of calls succeed at <= 1.08x load', async () => {
    const up = await upstream();
    up.set({ failRate: 0.05 });
    const c = client({ baseUrl: up.url }, { retry: { backoff: { baseMs: 0, maxMs: 0 } }, clock: frozen });
    const calls = 600;
    let ok = 0;
    for (let i = 0; i < calls; i++)
      if (
        await c.get('/x').then(
          () => true,
          () => false,
        )
      )
        ok++;
    expect(ok / calls).toBeGreaterThanOrEqual(0.997);
    expect(up.requests / calls).toBeLessThanOrEqual(1.08);
    expect(up.requests).toBeGreaterThan(calls); // failures were retried
  });

  it('with the upstream 100% down, the retry budget keeps attempts per call under 1.15', async () => {
    const up = await upstream();
    up.set({ failRate: 1 });
    const c = client(
      { baseUrl: up.url },
      { breaker: false, retry: { maxAttempts: 3, backoff: { baseMs: 0, maxMs: 0 } }, clock: frozen },
    );
    const calls = 300;
    let budgetRefusals = 0;
    for (let i = 0; i < calls; i++) {
      const err = await c.get('/x').catch((e: unknown) => e);
      if (err instanceof RetryBudgetExhaustedError) budgetRefusals++;
    }
    expect(up.requests / calls).toBeLessThanOrEqual(1.15);
    expect(budgetRefusals).toBeGreaterThan(calls / 2);
  });

  it('a killed upstream opens the breaker (callers fail fast); revived, half-open probes close it', async () => {
    const up = await upstream();
    const c = client(
      { baseUrl: up.url },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, openMs: 200, halfOpenProbes: 2 } },
    );
    const states: string[] = [];
    c.on('breaker-state-change', (e) => states.push(e.to));
    await c.get('/x');
    await up.kill();
    // The failed attempt is checked by a bare connect: refused, the circuit opens at once
    // (reason 'unreachable'), not after `consecutiveFailures` attempts; the next call fails fast.
    await expect(c.get('/x')).rejects.toBeInstanceOf(ConnectionError);
    await expect(c.get('/x')).rejects.toBeInstanceOf(CircuitOpenError);
    await up.revive();
    await new Promise((r) => setTimeout(r, 250));
    await c.get('/x');
    await c.get('/x');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('a POST to a refused instance goes to another one (nothing was sent), exactly once', async () => {
    const up = await upstream();
    const deadPort = await freePort();
    const registry: UpstreamSource = {
      pick: (_s, { exclude }) =>
        exclude.has('dead')
          ? { id: 'live', url: up.url }
          : { id: 'dead', url: `http://127.0.0.1:${deadPort}` },
    };
    const c = client({ service: 'orders', registry }, { retry: quick });
    await expect(c.post('/orders', { op: 'order-3' })).resolves.toMatchObject({ op: 'order-3' });
    expect(up.commits.get('order-3')).toBe(1);
  });

  it('the bulkhead runs maxConcurrent, queues maxQueue, refuses the rest', async () => {
    const up = await upstream();
    up.set({ latencyMs: 150 });
    const c = client({ baseUrl: up.url }, { bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => c.get('/x')));
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof BulkheadFullError);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(2);
    expect(up.requests).toBe(3);
  });
});
