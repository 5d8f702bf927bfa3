/** Fast return after an outage: the open time ends when the instance is back. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerRecovery } from '../../../src/client/breaker-recovery.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { until } from '../../helpers/wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(port = 0): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('{"ok":true}'));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
const close = (server: http.Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

describe('CircuitBreaker.probeNow', () => {
  it('ends the open time: the next call is a probe; does nothing unless open', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, openMs: 60_000 });
    breaker.probeNow();
    expect(breaker.state).toBe('closed');
    breaker.release(breaker.acquire(), 'failure');
    expect(breaker.state).toBe('open');
    expect(() => breaker.acquire()).toThrow(expect.objectContaining({ code: 'ERR_CIRCUIT_OPEN' }));
    breaker.probeNow();
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toBe('probe');
  });
});

describe('ServiceClient fast return', () => {
  it('a restarted base URL takes traffic again long before the open time ends (connect probe)', async () => {
    let server = await listen();
    const port = (server.address() as AddressInfo).port;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${port}` },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000, halfOpenProbes: 1 } },
    );
    cleanups.push(() => client.close());
    await expect(client.get('/')).resolves.toEqual({ ok: true });
    await close(server);
    for (let i = 0; i < 4; i++) await client.get('/').catch(() => {});
    expect(client.breakerState()).toBe('open');
    server = await listen(port);
    cleanups.push(() => close(server));
    // Without the probe the circuit stays open for 60 s.
    await until('the circuit to let calls through', () => client.breakerState() !== 'open', 5_000, 5);
    await expect(client.get('/')).resolves.toEqual({ ok: true });
    expect(client.breakerState()).toBe('closed');
  });

  it('sends no HTTP attempt while the circuit is open (the probe is a bare connect)', async () => {
    const server = await listen();
    const port = (server.address() as AddressInfo).port;
    let attempts = 0;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${port}` },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000 } },
    );
    cleanups.push(() => client.close());
    client.on('attempt', () => attempts++);
    await close(server);
    for (let i = 0; i < 2; i++) await client.get('/').catch(() => {});
    expect(client.breakerState()).toBe('open');
    const before = attempts;
    for (let i = 0; i < 50; i++) {
      await client.get('/').catch(() => {});
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(attempts).toBe(before);
  });
});

describe('BreakerRecovery', () => {
  it("ends the open time on the registry's announcement that the instance is back", () => {
    const listeners = new Map<string, (p: unknown) => void>();
    const registry = {
      on: (event: string, l: (p: unknown) => void) => {
        listeners.set(event, l);
        return () => listeners.delete(event);
      },
    };
    const probed: string[] = [];
    const recovery = new BreakerRecovery({ probeNow: (id) => probed.push(id), service: 'pricing' });
    recovery.follow(registry);
    listeners.get('change')!({ service: 'pricing', type: 'up', instance: { id: 'http://127.0.0.7:1/' } });
    listeners.get('change')!({ service: 'other', type: 'up', instance: { id: 'http://127.0.0.8:1/' } });
    listeners.get('change')!({ service: 'pricing', type: 'down', instance: { id: 'http://127.0.0.9:1/' } });
    listeners.get('health')!({ service: 'pricing', healthy: true, instance: { id: 'http://127.0.0.6:1/' } });
    expect(probed).toEqual(['http://127.0.0.7:1/', 'http://127.0.0.6:1/']);
    recovery.close();
    expect(listeners.size).toBe(0);
  });
});

describe('ServiceClient fast return through the registry', () => {
  it('an instance announced up again gets its open time ended at once (no connect needed)', async () => {
    const dead = await listen();
    const port = (dead.address() as AddressInfo).port;
    await close(dead); // nothing listens: the connect probe cannot bring it back
    const { ServiceRegistry } = await import('../../../src/registry/service-registry.js');
    const registry = new ServiceRegistry();
    cleanups.push(() => registry.close());
    const url = `http://127.0.0.1:${port}`;
    await registry.register('pricing', url);
    const client = new ServiceClient(
      { service: 'pricing', registry },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000 } },
    );
    cleanups.push(() => client.close());
    for (let i = 0; i < 3; i++) await client.get('/').catch(() => {});
    const id = `${url}/`;
    expect(client.breakerState(id)).toBe('open');
    await registry.deregister('pricing', url);
    expect(client.breakerState(id)).toBe('open');
    await registry.register('pricing', url); // the restarted process registers again
    expect(client.breakerState(id)).toBe('half-open');
  });
});
