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
import axios from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { ServiceClientTarget } from '../../../src/client/service-client-target.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { sleep, until } from '../../helpers/wait.js';

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
    // An attempt whose kept-alive connection broke is checked before its request is sent
    // again: the circuit opens before that attempt ends (and the request is not resent).
    const opened = outage.indexOf('breaker:open');
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(outage).toContain('attempt:failed');
    expect(outage.every((e) => e === 'attempt:failed' || e === 'breaker:open')).toBe(true);
    expect(outage.filter((e) => e === 'breaker:open')).toHaveLength(1);
    expect(outage.slice(opened + 1).length).toBeLessThanOrEqual(1);
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

describe('fast return: a request whose kept-alive connection broke', () => {
  /** An axios instance whose every request finds its connection reset (a reused socket the server had closed). */
  function resetting() {
    let sends = 0;
    const instance = axios.create({
      adapter: async () => {
        sends++;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', request: {} });
      },
    });
    return { instance, sends: () => sends };
  }

  it('is not sent again when a connect finds nothing listening: one send, the circuit open', async () => {
    const gone = await upstream([], 'A');
    await gone.close();
    const { instance, sends } = resetting();
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${gone.port}` },
      { axios: instance, retry: { maxAttempts: 1 } },
    );
    cleanups.push(() => client.close());
    await expect(client.get('/')).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    expect(sends()).toBe(1);
    expect(client.breakerState()).toBe('open');
  });

  it('is sent again once when the instance listens, after one connect', async () => {
    const alive = await upstream([], 'A');
    const { instance, sends } = resetting();
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${alive.port}` },
      { axios: instance, retry: { maxAttempts: 1 } },
    );
    cleanups.push(() => client.close());
    await expect(client.get('/')).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    expect(sends()).toBe(2);
    await until('the check connect to arrive', () => alive.probes() >= 1, 5_000, 5);
    await sleep(50);
    expect(alive.probes()).toBe(1); // the check before the resend; none again after the attempt
    expect(client.breakerState()).toBe('closed');
  });
});
