/**
 * Fast return on loopback: an upstream's server is closed (its process
 * died), then a second server listens on the same port (the restarted
 * process). The client's first call after the reopening succeeds, having
 * waited for one connect probe; no HTTP attempt is sent while the circuit
 * is open. Asserted on the order of events and the count of connections,
 * not on wall-clock speed.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { ServiceClientTarget } from '../../../src/client/service-client-target.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { sleep } from '../../helpers/wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A loopback server that logs its connections and requests into `log`, named `name`. */
async function upstream(log: string[], name: string, port = 0, status = 200) {
  const carried = new WeakSet<Socket>();
  const sockets: Socket[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    carried.add(req.socket);
    log.push(`${name}:request`);
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.on('connection', (socket: Socket) => {
    sockets.push(socket);
    log.push(`${name}:connection`);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  let closed = false;
  const close = () => {
    if (closed) return Promise.resolve();
    closed = true;
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return {
    port: (server.address() as AddressInfo).port,
    close,
    get requests() {
      return requests;
    },
    /** Connections that never carried a request: connect probes. */
    probes: () => sockets.filter((s) => !carried.has(s)).length,
  };
}

/** The steps of one restart, for a client built by `makeClient` on the URL of the first server. */
async function restart(makeClient: (url: string) => Promise<ServiceClient>) {
  const log: string[] = [];
  const first = await upstream(log, 'A');
  const url = `http://127.0.0.1:${first.port}`;
  const client = await makeClient(url);
  cleanups.push(() => client.close());
  client.on('breaker-state-change', (e) => log.push(`breaker:${e.to}`));
  client.on('attempt', (e) => log.push(`attempt:${e.outcome}`));
  await expect(client.get('/')).resolves.toEqual({ ok: true });
  await first.close();
  log.push('closed');
  // The outage: the first call fails and its failed connect is checked (refused: the circuit opens), then calls fail fast.
  for (let i = 0; i < 12; i++) {
    await client.get('/').catch(() => {});
    await sleep(2);
  }
  // The base URL's instance is its origin; a registry's is the registered URL.
  expect([client.breakerState(), client.breakerState(`${url}/`)]).toContain('open');
  const second = await upstream(log, 'B', first.port);
  log.push('reopened');
  const results = [];
  for (let i = 0; i < 4; i++)
    results.push(
      await client.get('/').then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      ),
    );
  return { log, results, second };
}

const breaker = { consecutiveFailures: 2, openMs: 60_000 };

describe.each<[string, (url: string) => Promise<ServiceClient>]>([
  ['a base URL', async (url) => new ServiceClient({ baseUrl: url }, { retry: { maxAttempts: 1 }, breaker })],
  [
    'a registry-backed upstream',
    async (url) => {
      const registry = new ServiceRegistry();
      cleanups.push(() => registry.close());
      await registry.register('pricing', url);
      const target: ServiceClientTarget = { service: 'pricing', registry };
      return new ServiceClient(target, { retry: { maxAttempts: 1 }, breaker });
    },
  ],
])('fast return after a restart, %s', (_name, makeClient) => {
  it('the first call after the reopening succeeds, after one connect probe; none sent while open', async () => {
    const { log, results, second } = await restart(makeClient);
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok']);
    const outage = log
      .slice(log.indexOf('closed') + 1, log.indexOf('reopened'))
      .map((e) => e.replace(/^attempt:(connect-error|connection-reset)$/, 'attempt:failed'));
    // A failed attempt, checked by a refused connect, opens the circuit (calls wait for that
    // check, up to 25 ms: on a starved machine a second attempt may go first); then no attempt.
    const opened = outage.indexOf('breaker:open');
    expect(outage.slice(0, opened)).toContain('attempt:failed');
    expect(outage.slice(0, opened).every((e) => e === 'attempt:failed')).toBe(true);
    expect(outage.slice(opened + 1)).toEqual([]);
    const after = log.slice(log.indexOf('reopened') + 1);
    expect(after.filter((e) => e.startsWith('breaker:'))).toEqual(['breaker:half-open', 'breaker:closed']);
    expect(after.filter((e) => e.startsWith('attempt:'))).toEqual(Array(4).fill('attempt:success'));
    // One connect probe found the new server; the first request followed it.
    expect(second.probes()).toBe(1);
    expect(after.indexOf('breaker:half-open')).toBeLessThan(after.indexOf('B:request'));
    expect(second.requests).toBe(4);
  });
});

describe('fast return: an upstream that listens but fails', () => {
  it('is not brought back by connect probes: no HTTP attempt for its open time', async () => {
    const log: string[] = [];
    const failing = await upstream(log, 'A', 0, 503);
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${failing.port}` },
      { retry: { maxAttempts: 1 }, breaker },
    );
    cleanups.push(() => client.close());
    for (let i = 0; i < 2; i++) await client.get('/').catch(() => {});
    expect(client.breakerState()).toBe('open');
    const errors: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      await client.get('/').catch((e: { code?: string }) => errors.push(e.code));
      await sleep(10);
    }
    expect(errors).toEqual(Array(20).fill('ERR_CIRCUIT_OPEN'));
    expect(failing.requests).toBe(2);
    expect(failing.probes()).toBe(1); // one connect when it opened: it listens, so no more
    expect(client.breakerState()).toBe('open');
  });
});
