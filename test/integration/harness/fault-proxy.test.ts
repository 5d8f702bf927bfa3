import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../helpers/fault-proxy.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

describe('TCP fault proxy in front of a real redis-server', () => {
  let server: RedisServer;
  let proxy: FaultProxy;
  const clients: Redis[] = [];

  const connect = (opts: Record<string, unknown> = {}) => {
    const c = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, ...opts });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startRedisServer();
    proxy = await startFaultProxy({ port: server.port });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await proxy.close();
    await server.stop();
  });

  it('pass forwards traffic', async () => {
    proxy.setMode({ kind: 'pass' });
    const c = connect();
    expect(await c.set('k', 'v')).toBe('OK');
    expect(await c.get('k')).toBe('v');
    expect(proxy.connections).toBeGreaterThan(0);
  });

  it('delay adds latency to every round trip', async () => {
    proxy.setMode({ kind: 'pass' });
    const c = connect();
    await c.ping();
    proxy.setMode({ kind: 'delay', ms: 60 });
    const start = performance.now();
    await c.ping();
    const took = performance.now() - start;
    // One delay each way.
    expect(took).toBeGreaterThanOrEqual(115);
    proxy.setMode({ kind: 'pass' });
  });

  it('blackhole swallows requests: the client times out while the socket stays open', async () => {
    proxy.setMode({ kind: 'pass' });
    const c = connect({ commandTimeout: 150 });
    await c.ping();
    proxy.setMode({ kind: 'blackhole' });
    await expect(c.ping()).rejects.toThrow(/timed out/i);
    expect(c.status).toBe('ready');
    proxy.setMode({ kind: 'pass' });
  });

  it('reset tears connections down with RST and refuses new ones', async () => {
    proxy.setMode({ kind: 'pass' });
    const c = connect({ retryStrategy: () => null });
    await c.ping();
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    proxy.setMode({ kind: 'reset' });
    await closed;
    expect(proxy.connections).toBe(0);
    const fresh = connect({ retryStrategy: () => null, lazyConnect: true });
    await expect(fresh.connect().then(() => fresh.ping())).rejects.toThrow();
    proxy.setMode({ kind: 'pass' });
  });

  it('drop closes connections; back in pass mode a client reconnects by itself', async () => {
    proxy.setMode({ kind: 'pass' });
    const c = connect({ maxRetriesPerRequest: null, retryStrategy: () => 20 });
    await c.ping();
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    proxy.setMode({ kind: 'drop' });
    await closed;
    proxy.setMode({ kind: 'pass' });
    expect(await c.ping()).toBe('PONG');
  });
});
