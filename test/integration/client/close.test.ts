/**
 * close() ends every call: each call in flight (an attempt running, queued
 * in the bulkhead, waiting for the registry, sleeping before a retry) and
 * every later call rejects with ClosedError (ERR_CLOSED), with the last
 * attempt's error as `cause` where there is one. Real upstream on loopback.
 *
 * Each test has an upstream of its own: requests a closed client had
 * already written are still read by the server afterwards (it may accept
 * them late on a loaded machine), and they must not count as the next
 * test's. The tests wait for what they assert on (the server saw the
 * requests, the call is sleeping before its retry), not a fixed time.
 */
import { Agent } from 'node:http';
import axios from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { HttpStatusError, isScaleoutError } from '../../../src/errors.js';
import { type FakeUpstream, startFakeUpstream } from '../../helpers/fake-upstream.js';

let upstream: FakeUpstream;

beforeEach(async () => {
  upstream = await startFakeUpstream();
});
afterEach(async () => {
  await upstream.close();
});

const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value, error: undefined as unknown }),
    (error: unknown) => ({ value: undefined, error }),
  );
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `check` every 5 ms until it holds or `timeoutMs` passed (the assertion after it says which). */
async function poll(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check() && performance.now() < end) await wait(5);
}

describe('ServiceClient.close() with calls in flight', () => {
  it('every call in flight and every later call gets ERR_CLOSED, never a circuit, budget or connection error', async () => {
    upstream.set({ hang: true });
    const client = new ServiceClient({ baseUrl: upstream.url }, { attemptTimeoutMs: 5_000 });
    const calls = [
      ...Array.from({ length: 8 }, (_, i) => client.get(`/slow/${i}`)),
      client.post('/slow', { op: 'a' }),
      client.post('/slow', { op: 'b' }, { idempotencyKey: 'k-b' }),
      client.put('/slow', { x: 1 }),
      client.delete('/slow'),
      client.request('get', '/slow'),
    ].map(settle);
    await poll(() => upstream.requests === 13);
    const started = performance.now();
    await client.close();
    const results = await Promise.all(calls);
    // Not a speed check: without close() ending them, these calls would wait
    // for their 5 s attempt timeout.
    expect(performance.now() - started).toBeLessThan(4_000);
    for (const { error } of results) {
      expect((error as { code?: string }).code).toBe('ERR_CLOSED');
    }
    for (const later of [client.get('/x'), client.post('/x', {}), client.request({ url: '/x' })]) {
      expect((await settle(later)).error).toMatchObject({ code: 'ERR_CLOSED' });
    }
    await client.close(); // idempotent
  });

  it('a call sleeping before its retry ends at once, with the failed attempt as cause', async () => {
    upstream.set({ failNext: 100, failStatus: 503, retryAfter: '5' });
    const client = new ServiceClient(
      { baseUrl: upstream.url },
      { deadlineMs: 30_000, retry: { maxAttempts: 3 }, retryBudget: false },
    );
    const sleeping = new Promise((resolve) => client.on('retry', resolve));
    const call = settle(client.get('/flaky'));
    await sleeping; // the first attempt got its 503; the call sleeps the 5 s Retry-After
    expect(upstream.requests).toBe(1);
    const started = performance.now();
    await client.close();
    const { error } = await call;
    // Not a speed check: without close() waking it, the call sleeps the 5 s Retry-After.
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(isScaleoutError(error, 'ERR_CLOSED')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(HttpStatusError);
    expect(((error as Error).cause as HttpStatusError).status).toBe(503);
    expect(upstream.requests).toBe(1);
  });

  it('a call queued in the bulkhead and a call waiting for the registry end with ERR_CLOSED', async () => {
    upstream.set({ hang: true });
    const client = new ServiceClient(
      { baseUrl: upstream.url },
      { bulkhead: { maxConcurrent: 1, maxQueue: 4 }, attemptTimeoutMs: 5_000 },
    );
    const running = settle(client.get('/a'));
    const queued = settle(client.get('/b'));
    const never: UpstreamSource = { pick: () => new Promise(() => {}) };
    const viaRegistry = new ServiceClient(
      { service: 'inventory', registry: never },
      { attemptTimeoutMs: 5_000 },
    );
    const picking = settle(viaRegistry.get('/c'));
    await poll(() => upstream.requests === 1); // '/a' runs, '/b' waits for the bulkhead
    await wait(20);
    await Promise.all([client.close(), viaRegistry.close()]);
    for (const { error } of await Promise.all([running, queued, picking])) {
      expect((error as { code?: string }).code).toBe('ERR_CLOSED');
    }
  });

  it('with an axios instance of its own (own agents, not destroyed by close), calls in flight still end', async () => {
    upstream.set({ hang: true });
    const agent = new Agent({ keepAlive: true });
    const instance = axios.create({ httpAgent: agent });
    const client = new ServiceClient({ baseUrl: upstream.url }, { axios: instance, attemptTimeoutMs: 5_000 });
    const calls = [settle(client.get('/a')), settle(client.post('/b', { op: 'x' }))];
    await poll(() => upstream.requests === 2);
    expect(upstream.openConnections).toBeGreaterThan(0);
    await client.close();
    for (const { error } of await Promise.all(calls))
      expect((error as { code?: string }).code).toBe('ERR_CLOSED');
    // The requests were aborted: their sockets are gone.
    // Not a speed check: a keep-alive or hung socket would stay open far longer (30 s, 300 s).
    await poll(() => upstream.openConnections === 0);
    expect(upstream.openConnections).toBe(0);
    agent.destroy();
  });
});

describe('ServiceClient.close() closes only what the client created', () => {
  it('destroys the keep-alive sockets of the agents it created', async () => {
    const client = new ServiceClient({ baseUrl: upstream.url });
    await client.get('/a');
    expect(upstream.openConnections).toBeGreaterThan(0);
    await client.close();
    // Not a speed check: left alone, a keep-alive socket stays open 30 s (the server's keepAliveTimeout).
    await poll(() => upstream.openConnections === 0);
    expect(upstream.openConnections).toBe(0);
  });

  it('two clients sharing one axios instance and its agent: closing either leaves the other working, the sockets open', async () => {
    const agent = new Agent({ keepAlive: true });
    const instance = axios.create({ httpAgent: agent });
    const a = new ServiceClient({ baseUrl: upstream.url }, { axios: instance });
    const b = new ServiceClient({ baseUrl: upstream.url }, { axios: instance });
    await a.get('/a');
    await b.get('/b');
    await a.close();
    await wait(50);
    // The agent is the caller's: its keep-alive socket is still there, and still used.
    expect(upstream.openConnections).toBeGreaterThan(0);
    await expect(b.get('/c')).resolves.toMatchObject({ ok: true });
    await expect(instance.get(`${upstream.url}/d`)).resolves.toMatchObject({ status: 200 });
    await b.close();
    await wait(50);
    expect(upstream.openConnections).toBeGreaterThan(0);
    agent.destroy();
  });
});
