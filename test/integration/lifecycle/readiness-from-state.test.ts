/**
 * /ready follows the primitives' own state on real connections that drop
 * and come back (a TCP fault proxy in front of a real redis-server and of
 * the shared RabbitMQ): the queue's connection (Redis Streams and RabbitMQ,
 * read from the adapter: nothing is published or consumed by the probe),
 * the cache's invalidation bus (no cache traffic, so its circuit stays
 * closed), the registry's heartbeats, and the lock and session stores.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import {
  DistributedCache,
  DistributedLock,
  MessageQueue,
  probeHandler,
  type QueueConnectionEvent,
  ServiceLifecycle,
  ServiceRegistry,
  SessionStore,
} from '../../../src/index.js';
import {
  redisCacheAdapter,
  redisLockAdapter,
  redisRegistryAdapter,
  redisSessionAdapter,
  redisStreamsQueueAdapter,
} from '../../../src/redis.js';
import { type FaultProxy, startFaultProxy } from '../../helpers/fault-proxy.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

let redis: RedisServer;
let proxy: FaultProxy;

beforeAll(async () => {
  redis = await startRedisServer();
  proxy = await startFaultProxy({ port: redis.port });
});

afterAll(async () => {
  await proxy?.close();
  await redis?.stop();
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  proxy.setMode({ kind: 'pass' });
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Through the proxy; ioredis retries every 50 ms. */
const viaProxy = (): RedisOptions => ({ host: '127.0.0.1', port: proxy.port, retryStrategy: () => 50 });

/** A lifecycle whose probes a real HTTP server answers; returns a function reading /ready's status. */
async function probed(lifecycle: ServiceLifecycle): Promise<() => Promise<number>> {
  const probes = probeHandler(lifecycle);
  const server = http.createServer((req, res) => {
    if (!probes(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  cleanups.push(() => lifecycle.close());
  const port = (server.address() as AddressInfo).port;
  return () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
}

async function failing(lifecycle: ServiceLifecycle): Promise<string[]> {
  const report = await lifecycle.health();
  return report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error}`);
}

describe('/ready from the queue connection state', () => {
  it('Redis Streams: 503 while the connection is cut, 200 once it is back; connection events', async () => {
    const adapter = closedAfterTest(
      redisStreamsQueueAdapter({ connection: viaProxy(), prefix: uniquePrefix('ready-streams') }),
    );
    const queue = new MessageQueue({ adapter });
    const events: QueueConnectionEvent[] = [];
    queue.on('connection', (e) => events.push(e));
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(queue, { name: 'queue' });
    const ready = await probed(lifecycle);

    await until('connected', () => queue.connectionState === 'connected');
    expect(await ready()).toBe(200);

    proxy.setMode({ kind: 'reset' });
    await until('disconnected', () => queue.connectionState === 'disconnected');
    expect(await ready()).toBe(503);
    expect(await failing(lifecycle)).toEqual(['queue: Error: the queue connection is disconnected']);

    proxy.setMode({ kind: 'pass' });
    await until('connected again', () => queue.connectionState === 'connected');
    expect(await ready()).toBe(200);
    expect(events).toEqual([
      { state: 'connected', previous: 'connecting' },
      { state: 'disconnected', previous: 'connected' },
      { state: 'connected', previous: 'disconnected' },
    ]);
    await queue.close();
  });

  it('RabbitMQ: idle is ready; 503 while the connection is cut, 200 once it is back', async () => {
    const broker = new URL(amqpUrl());
    const amqpProxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    cleanups.push(() => amqpProxy.close());
    const fixture = await connectAmqp();
    cleanups.push(async () => {
      await fixture.cleanup();
    });
    const prefix = 'scaleout-test.';
    const topic = uniqueName('ready');
    fixture.track(`${prefix}${topic}`);
    fixture.track(`${prefix}${topic}.dead`);
    const adapter = closedAfterTest(
      amqpQueueAdapter({
        url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${amqpProxy.port}`,
        prefix,
        reconnectBaseMs: 20,
        reconnectMaxMs: 200,
      }),
    );
    const queue = new MessageQueue({ adapter });
    const events: QueueConnectionEvent[] = [];
    queue.on('connection', (e) => events.push(e));
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(queue, { name: 'queue' });
    const ready = await probed(lifecycle);

    expect(queue.connectionState).toBe('idle');
    expect(await ready()).toBe(200);
    lifecycle.manage(await queue.consume(topic, () => {}));
    await until('connected', () => queue.connectionState === 'connected');
    expect(await ready()).toBe(200);

    amqpProxy.setMode({ kind: 'reset' });
    await until('disconnected', () => queue.connectionState === 'disconnected');
    expect(await ready()).toBe(503);
    expect(await failing(lifecycle)).toEqual(['queue: Error: the queue connection is disconnected']);

    amqpProxy.setMode({ kind: 'pass' });
    await until('connected again', () => queue.connectionState === 'connected');
    expect(await ready()).toBe(200);
    expect(events.map((e) => e.state)).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
    await lifecycle.close();
    await queue.close();
    // While the proxy still forwards: the adapter's close talks to the broker.
    await adapter.close();
  });
});

describe('/ready from the other primitives on a connection that drops', () => {
  it('cache: a lost invalidation bus turns /ready 503 although no traffic opened the circuit', async () => {
    const adapter = closedAfterTest(
      redisCacheAdapter({ connection: viaProxy(), prefix: uniquePrefix('ready-cache') }),
    );
    const cache = new DistributedCache({ adapter });
    cleanups.push(() => cache.close());
    await cache.ready();
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(cache, { name: 'cache' });
    const ready = await probed(lifecycle);
    expect(await ready()).toBe(200);

    proxy.setMode({ kind: 'reset' });
    await until('bus disconnected', () => cache.busState === 'disconnected');
    expect(cache.circuitState).toBe('closed');
    expect(await ready()).toBe(503);
    expect((await failing(lifecycle))[0]).toMatch(
      /^cache: Error: the cache invalidation bus is disconnected/,
    );

    proxy.setMode({ kind: 'pass' });
    await until('bus back', () => cache.busState === 'subscribed');
    expect(await ready()).toBe(200);
  });

  it('registry heartbeats, lock and session stores: 503 while Redis is unreachable, 200 once back', async () => {
    const registry = new ServiceRegistry({
      adapter: closedAfterTest(
        redisRegistryAdapter({ connection: viaProxy(), prefix: uniquePrefix('ready-registry') }),
      ),
      ttlMs: 600,
    });
    const locks = new DistributedLock({
      adapter: closedAfterTest(
        redisLockAdapter({ connection: viaProxy(), prefix: uniquePrefix('ready-lock') }),
      ),
    });
    const sessions = new SessionStore({
      adapter: closedAfterTest(
        redisSessionAdapter({ connection: viaProxy(), prefix: uniquePrefix('ready-session') }),
      ),
    });
    const lifecycle = new ServiceLifecycle({ checkTimeoutMs: 500 });
    lifecycle.manage(registry, { name: 'registry' });
    lifecycle.manage(locks, { name: 'locks' });
    lifecycle.manage(sessions, { name: 'sessions' });
    lifecycle.manage(await registry.register('orders', 'http://127.0.0.1:1'));
    const ready = await probed(lifecycle);
    expect(await ready()).toBe(200);

    proxy.setMode({ kind: 'reset' });
    await until(
      'every store check failing',
      async () => {
        const names = (await failing(lifecycle)).map((f) => f.split(':')[0]);
        return ['registry', 'locks', 'sessions'].every((n) => names.includes(n));
      },
      20_000,
      100,
    );
    expect(await ready()).toBe(503);

    proxy.setMode({ kind: 'pass' });
    // The registry check remembers a failed heartbeat for 5 s.
    await until('ready again', async () => (await ready()) === 200, 20_000, 200);
    await lifecycle.shutdown();
  });
});
