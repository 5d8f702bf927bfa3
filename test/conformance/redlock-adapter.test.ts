import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redlockAdapter } from '../../src/adapters/redis/redlock.js';
import { isScaleoutError } from '../../src/errors.js';
import { DistributedLock } from '../../src/lock/index.js';
import { lockAdapterConformance } from '../../src/testing/lock-adapter-conformance.js';
import type { TestApi } from '../../src/testing/test-api.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { distributedLockSuite } from './distributed-lock-suite.js';

const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };

describe('Redlock over 3 real redis-servers', () => {
  let servers: RedisServer[] = [];
  let dead: RedisServer;
  const deadClients: Redis[] = [];
  beforeAll(async () => {
    servers = await Promise.all([startRedisServer(), startRedisServer(), startRedisServer()]);
    dead = await startRedisServer();
    await dead.kill();
  });
  afterAll(async () => {
    for (const c of deadClients) c.disconnect();
    await Promise.all([...servers, dead].map((s) => s?.stop()));
  });

  /**
   * A client of an instance that is down (commands fail at once: no offline
   * queue). Each on its own db: one server and db given twice is refused.
   */
  const down = () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: dead.port,
      db: deadClients.length,
      enableOfflineQueue: false,
      retryStrategy: () => 1000,
    });
    client.on('error', () => {});
    deadClients.push(client);
    return client;
  };

  lockAdapterConformance({
    name: 'redlock, 3 of 3 up',
    test,
    create: () => redlockAdapter({ connections: servers.map((s) => s.url), prefix: uniquePrefix('rl') }),
    semaphores: false,
    destroy: (adapter) => adapter.close(),
  });

  lockAdapterConformance({
    name: 'redlock, 2 of 3 up (one instance down)',
    test,
    create: () =>
      redlockAdapter({
        connections: [servers[0]!.url, down(), servers[1]!.url],
        prefix: uniquePrefix('rl1'),
      }),
    semaphores: false,
    destroy: (adapter) => adapter.close(),
  });

  it('a majority hold blocks a second client even when a minority instance is wiped', async () => {
    const prefix = uniquePrefix('maj');
    const a = redlockAdapter({ connections: servers.map((s) => s.url), prefix });
    const b = redlockAdapter({ connections: servers.map((s) => s.url), prefix });
    const r = await a.acquire({ resource: 'x', token: 'A', ttlMs: 10_000, limit: 1 });
    expect(r.acquired).toBe(true);
    expect(r.acquired && r.validityMs).toBeLessThan(10_000);
    // One instance loses its data: the hold is still on a majority.
    await a.instances[0]!.client.del(a.instances[0]!.keysOf('x', 1).hold);
    expect((await b.acquire({ resource: 'x', token: 'B', ttlMs: 10_000, limit: 1 })).acquired).toBe(false);
    // B's partial grant on the wiped instance was rolled back at once.
    expect(await a.instances[0]!.client.exists(a.instances[0]!.keysOf('x', 1).hold)).toBe(0);
    expect(await b.release({ resource: 'x', token: 'A-forged', limit: 1 })).toBe(false);
    expect(await a.release({ resource: 'x', token: 'A', limit: 1 })).toBe(true);
    for (const i of a.instances) expect(await i.client.exists(i.keysOf('x', 1).hold)).toBe(0);
    await a.close();
    await b.close();
  });

  it('measures on its clock how long a quorum took: a grant that outlived its validity is given back', async () => {
    let t = 0;
    // Every reading 20 s after the last: each answer comes after a 10 s TTL ran out.
    const slow = { now: () => Date.now(), monotonic: () => (t += 20_000) };
    const adapter = redlockAdapter({
      connections: servers.map((s) => s.url),
      prefix: uniquePrefix('rl-clock'),
      clock: slow,
    });
    const r = await adapter.acquire({ resource: 'x', token: 'A', ttlMs: 10_000, limit: 1 });
    expect(r.acquired).toBe(false);
    for (const i of adapter.instances) expect(await i.client.exists(i.keysOf('x', 1).hold)).toBe(0);
    await adapter.close();
  });

  it('fails closed with ConnectionError when a majority is down', async () => {
    const adapter = redlockAdapter({
      connections: [servers[0]!.url, down(), down()],
      prefix: uniquePrefix('maj-down'),
    });
    const locks = new DistributedLock({ adapter });
    const err = await locks.acquire('x', { waitMs: 500 }).catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
    // Nothing left behind on the live instance.
    expect(await adapter.instances[0]!.client.exists(adapter.instances[0]!.keysOf('x', 1).hold)).toBe(0);
    await locks.close();
    await adapter.close();
  });

  it('refuses a connection given twice: the same client, or the same server and db however written', async () => {
    const [one, two] = servers;
    const url = one!.url; // redis://127.0.0.1:<port>
    const client = one!.client({ lazyConnect: true });
    const repeats: Array<readonly unknown[]> = [
      [client, client, client],
      [client, client],
      [url, two!.url, url],
      [url, `${url}/0`],
      [url, `${url.replace('redis:', 'rediss:')}/0?db=0`],
      [url, { host: '127.0.0.1', port: one!.port }],
      [{ host: '127.0.0.1', port: one!.port, db: 2 }, `${url}?db=2`],
      [client, url],
      [client, one!.client({ lazyConnect: true })],
      ['redis://LOCALHOST:6379', { lazyConnect: true }],
    ];
    for (const connections of repeats) {
      let error: unknown;
      try {
        await redlockAdapter({ connections: connections as never, prefix: uniquePrefix('dup') }).close();
      } catch (err) {
        error = err;
      }
      expect(
        error,
        JSON.stringify(connections.map((c) => (typeof c === 'string' ? c : typeof c))),
      ).toMatchObject({
        code: 'ERR_INVALID_OPTIONS',
        option: 'connections',
      });
      expect((error as Error).message).toMatch(/connections\[\d\] is the same Redis .* as connections\[\d\]/);
    }
    // Other dbs of one server are other key spaces: taken, and a lock is granted.
    const adapter = redlockAdapter({
      connections: [url, `${url}/1`, `${url}/2`],
      prefix: uniquePrefix('dbs'),
    });
    const locks = new DistributedLock({ adapter });
    const lease = await locks.tryAcquire('x');
    expect(lease).not.toBeNull();
    await lease!.release();
    await locks.close();
    await adapter.close();
  });

  distributedLockSuite({
    name: 'redlock, 3 of 3 up',
    create: () => {
      const prefix = uniquePrefix('rl-lock');
      return [
        redlockAdapter({ connections: servers.map((s) => s.url), prefix }),
        redlockAdapter({ connections: servers.map((s) => s.url), prefix }),
      ];
    },
    semaphores: false,
    contenders: 16,
  });
});
