import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RedisCacheAdapter, redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { type RedisRegistryAdapter, redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import type { QueueDelivery } from '../../../src/contracts/queue.js';
import type { RegistryChange, RegistryRecord } from '../../../src/contracts/registry.js';
import { DistributedLock, type Lease } from '../../../src/lock/index.js';
import { type RedisStreamsQueueAdapter, redisStreamsQueueAdapter } from '../../../src/redis.js';
import type { TestApi } from '../../../src/testing/test-api.js';
import {
  cacheAdapterConformance,
  lockAdapterConformance,
  queueAdapterConformance,
  registryAdapterConformance,
  sessionAdapterConformance,
} from '../../../src/testing.js';
import type { Subscription } from '../../../src/types.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { outgoingMessage } from '../../helpers/queue-message.js';
import { type RedisSentinelFixture, startRedisSentinel } from '../../helpers/redis-sentinel.js';
import { eventually } from '../../helpers/wait.js';

// One Sentinel setup (master, replica, 3 sentinels) and one failover for the
// whole file. Before it, each adapter writes through its own Sentinel client;
// the writes are replicated (replication is asynchronous: an unreplicated
// write may be lost by any failover), the master is failed over, and each
// test then checks that the same adapter object, not rebuilt, reads the old
// data and runs its Lua scripts again: the client reconnects to the new
// master through the sentinels, and scripts missing from the new master's
// script cache reload on NOSCRIPT.
let sentinel: RedisSentinelFixture;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 60_000);
afterAll(async () => {
  await sentinel?.stop();
});

async function replicateThenFailOver(client: Redis): Promise<void> {
  // After an earlier failover the demoted master resyncs as a replica first.
  await eventually(async () => {
    if ((await client.wait(1, 1_000)) !== 1) throw new Error('write not yet on the replica');
  }, 30_000);
  const before = await sentinel.masterPort();
  const after = await sentinel.failover();
  expect(after).not.toBe(before);
  // Sentinel promotes the replica first and demotes the old master only when
  // it next polls it; until then the old master still accepts writes, which
  // its resync as a replica then discards. Wait for the demotion (see
  // docs/operations.md: min-replicas-to-write bounds that window).
  await eventually(async () => {
    const old = new Redis({ port: before, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    old.on('error', () => {});
    try {
      await old.connect();
      const role = (await old.role()) as [string, ...unknown[]];
      if (role[0] !== 'slave') throw new Error('old master not yet demoted');
    } finally {
      old.disconnect();
    }
  }, 30_000);
}

async function cachedScripts(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/number_of_cached_scripts:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

describe('adapters across a Sentinel failover', () => {
  // The registry reads back only records whose id is their normalised URL.
  const record = (host: string, owner: string): RegistryRecord => ({
    service: 'pricing',
    id: `http://${host}/`,
    url: `http://${host}/`,
    weight: 1,
    metadata: {},
    owner,
    registeredAt: Date.now(),
  });
  const sessionId = randomUUID();
  const changes: RegistryChange[] = [];
  let cache: RedisCacheAdapter;
  let sessions: RedisSessionAdapter;
  let registry: RedisRegistryAdapter;
  let queue: RedisStreamsQueueAdapter;
  let subscription: Subscription | undefined;
  const lockPrefix = uniquePrefix('lock');
  let lockA: DistributedLock;
  let lockB: DistributedLock;
  let firstToken: number;
  let held: Lease;

  beforeAll(async () => {
    cache = redisCacheAdapter({ connection: sentinel.client(), prefix: uniquePrefix('cache') });
    sessions = new RedisSessionAdapter({ connection: sentinel.client(), prefix: uniquePrefix('session') });
    registry = redisRegistryAdapter({ connection: sentinel.client(), prefix: uniquePrefix('registry') });
    queue = redisStreamsQueueAdapter({
      connection: sentinel.client(),
      prefix: uniquePrefix('queue'),
      claimIdleMs: 1_000,
      sweepIntervalMs: 100,
      blockMs: 100,
    });
    await cache.set('kept', 'v1');
    expect(await cache.increment('counter', { by: 1 })).toBe(1);
    expect(await sessions.create({ id: sessionId, data: '{"n":1}', userId: 'u1', ttlMs: 60_000 })).toBe(true);
    await registry.register(record('a:1', 'owner-a'), { ttlMs: 60_000 });
    subscription = await registry.subscribe('pricing', (c) => changes.push(c));
    await queue.publish('orders', outgoingMessage('before'));
    lockA = new DistributedLock({
      adapter: redisLockAdapter({ connection: sentinel.client(), prefix: lockPrefix }),
      operationTimeoutMs: 2_000,
    });
    lockB = new DistributedLock({
      adapter: redisLockAdapter({ connection: sentinel.client(), prefix: lockPrefix }),
      operationTimeoutMs: 2_000,
    });
    const first = await lockA.acquire('account-7', { ttlMs: 5_000 });
    firstToken = first.fencingToken;
    await first.release();
    held = await lockA.acquire('account-7', { ttlMs: 60_000 });
    expect(held.fencingToken).toBeGreaterThan(firstToken);
    await replicateThenFailOver(sentinel.client());
  }, 90_000);
  afterAll(async () => {
    await subscription?.unsubscribe();
    await Promise.all([cache?.close(), sessions?.close(), registry?.close(), queue?.close()]);
    for (const l of [lockA, lockB]) {
      await l?.adapter.close();
      await l?.close();
    }
  });

  it('cache adapter: old entries readable, scripted increment and compare-and-delete work on the new master', async () => {
    expect(await eventually(() => cache.get('kept'))).toBe('v1');
    expect(await eventually(() => cache.increment('counter', { by: 1 }))).toBe(2);
    await cache.set('owned', 'token-a');
    expect(await cache.deleteIfEquals('owned', 'token-b')).toBe(false);
    expect(await cache.deleteIfEquals('owned', 'token-a')).toBe(true);
  }, 30_000);

  it('session adapter: sessions survive, versioned update (a script) keeps working', async () => {
    const found = await eventually(() => sessions.get(sessionId));
    expect(found?.data).toBe('{"n":1}');
    expect(found?.version).toBe(1);
    const updated = await eventually(() =>
      sessions.update({ id: sessionId, data: '{"n":2}', expectedVersion: 1 }),
    );
    expect(updated.status).toBe('ok');
    const stale = await sessions.update({ id: sessionId, data: '{"n":3}', expectedVersion: 1 });
    expect(stale.status).toBe('conflict');
    expect(await sessions.destroyAllForUser('u1')).toBe(1);
  }, 30_000);

  it('registry adapter: leases survive, heartbeats renew, subscribers hear changes made after the failover', async () => {
    const listed = await eventually(() => registry.list('pricing'));
    expect(listed.instances.map((i) => i.record.id)).toEqual(['http://a:1/']);
    const beat = await eventually(() =>
      registry.heartbeat('pricing', 'http://a:1/', 'owner-a', { ttlMs: 60_000 }),
    );
    expect(beat.status).toBe('renewed');
    // The sentinels kill client connections on the demoted master; the
    // subscriber connection must resubscribe. Register until a change is heard.
    let n = 0;
    await eventually(async () => {
      n++;
      await registry.register(record(`b:${n}`, 'owner-b'), { ttlMs: 60_000 });
      await new Promise((r) => setTimeout(r, 200));
      if (!changes.some((c) => c.type === 'up' && c.lease.record.id.startsWith('http://b:'))) {
        throw new Error('no change heard yet');
      }
    });
  }, 30_000);

  it('streams queue adapter: a message stored before the failover and one published after are both delivered', async () => {
    await eventually(() => queue.publish('orders', outgoingMessage('after')));
    const seen = new Set<string>();
    const subscription = await eventually(() =>
      queue.consume(
        'orders',
        (d: QueueDelivery) => {
          seen.add(d.id);
          void d.ack().catch(() => {});
        },
        { group: 'default', prefetch: 10, deadLetterTopic: undefined },
      ),
    );
    await eventually(async () => {
      if (!(seen.has('before') && seen.has('after'))) throw new Error(`seen ${[...seen]}`);
    });
    await subscription.unsubscribe();
  }, 30_000);

  it('scripts are reloaded when the new master has not cached them (NOSCRIPT)', async () => {
    const admin = sentinel.client();
    expect(await eventually(() => cache.increment('noscript', { by: 5 }))).toBe(5);
    // Empty the master's script cache (as a restart does): EVALSHA now meets NOSCRIPT.
    await admin.script('FLUSH');
    expect(await cachedScripts(admin)).toBe(0);
    expect(await cache.increment('noscript', { by: 1 })).toBe(6);
    expect(await cachedScripts(admin)).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('lock: a replicated hold still excludes others, and fencing tokens still only grow (also after a lost counter)', async () => {
    // The hold was replicated before the failover: nobody else gets the resource on the new master.
    expect(await eventually(() => lockB.tryAcquire('account-7'))).toBeNull();
    expect(await eventually(() => held.release())).toBe(true);
    const next = await eventually(() => lockB.acquire('account-7', { ttlMs: 5_000, waitMs: 5_000 }));
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
    await next.release();
    // A fencing counter lost in a failover (not yet replicated) is seeded from
    // the server clock: the next token is still larger.
    const admin = sentinel.client();
    const fenceKeys = await admin.keys(`${lockPrefix}*fence*`);
    expect(fenceKeys.length).toBe(1);
    await admin.del(fenceKeys[0]!);
    const reseeded = await lockB.acquire('account-7', { ttlMs: 5_000 });
    expect(reseeded.fencingToken).toBeGreaterThan(next.fencingToken);
    await reseeded.release();
  }, 30_000);
});

// The conformance suites, unchanged, through a Sentinel client. They run after
// the failover above, so they exercise the promoted master.
describe('conformance suites through Sentinel (on the promoted master)', () => {
  const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };
  const client = () => sentinel.client();

  cacheAdapterConformance({
    name: 'cache adapter via Sentinel',
    test,
    create: () => redisCacheAdapter({ connection: client(), prefix: uniquePrefix('s-cache') }),
    destroy: (adapter) => adapter.close(),
  });
  sessionAdapterConformance({
    name: 'session adapter via Sentinel',
    test,
    create: () => new RedisSessionAdapter({ connection: client(), prefix: uniquePrefix('s-session') }),
  });
  registryAdapterConformance({
    name: 'registry adapter via Sentinel',
    test,
    create: () => redisRegistryAdapter({ connection: client(), prefix: uniquePrefix('s-registry') }),
    destroy: (adapter) => adapter.close(),
  });
  queueAdapterConformance({
    name: 'streams queue adapter via Sentinel',
    test,
    create: () =>
      redisStreamsQueueAdapter({
        connection: client(),
        prefix: uniquePrefix('s-queue'),
        claimIdleMs: 1_000,
        sweepIntervalMs: 50,
        blockMs: 50,
      }),
    redeliveryTimeoutMs: 10_000,
  });
  lockAdapterConformance({
    name: 'lock adapter via Sentinel',
    test,
    create: () => redisLockAdapter({ connection: client(), prefix: uniquePrefix('s-lock') }),
    destroy: (adapter) => adapter.close(),
  });
});
