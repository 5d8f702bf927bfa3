/**
 * Foreign data: with a raw ioredis client, junk goes into every key family
 * the Redis lock adapter uses (the lock hold `{r}:lock`, the semaphore set
 * `{r}:sem`, the fencing counter `{r}:fence`, the lock's waiter marker
 * `{r}:lock:waiting`, the release channel
 * `{r}:lock:released` / `{r}:sem:released`): other Redis types, junk text,
 * records without expiry, huge values, numbers out of range. Then every
 * primitive is called on those resources (acquire, tryAcquire, withLock,
 * release, extend, on a lock and a semaphore, on one Redis and on Redlock).
 * Expected: ERR_CORRUPT_DATA (never ERR_CONNECTION), or the documented
 * outcome (a foreign holder with an expiry holds the resource until it
 * expires), no token lower than one handed out before, good resources
 * unaffected, nothing crashes.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { redlockAdapter } from '../../src/adapters/redis/redlock.js';
import { isScaleoutError } from '../../src/errors.js';
import { DistributedLock, DistributedSemaphore, type Lease } from '../../src/lock/index.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { watchUnhandled } from './cache-lock-hostile.js';

type Write = (r: Redis, key: string) => Promise<unknown>;

/** Junk at a fencing counter: every one is refused (ERR_CORRUPT_DATA). */
const FENCE_JUNK: Array<[string, Write]> = [
  ['a hash', (r, k) => r.hset(k, 'f', '1')],
  ['a list', (r, k) => r.rpush(k, '1')],
  ['a set', (r, k) => r.sadd(k, '1')],
  ['a sorted set', (r, k) => r.zadd(k, 1, 'a')],
  ['a stream', (r, k) => r.xadd(k, '*', 'f', 'v')],
  ['text', (r, k) => r.set(k, 'abc')],
  ['an empty string', (r, k) => r.set(k, '')],
  ['a fraction', (r, k) => r.set(k, '1.5')],
  ['a negative number', (r, k) => r.set(k, '-5')],
  ['zero', (r, k) => r.set(k, '0')],
  ['a small number', (r, k) => r.set(k, '42')],
  ['2^53 - 1', (r, k) => r.set(k, String(Number.MAX_SAFE_INTEGER))],
  ['int64 max', (r, k) => r.set(k, '9223372036854775807')],
  ['a huge number', (r, k) => r.set(k, '9'.repeat(400))],
  ['leading zeros', (r, k) => r.set(k, '0001700000000000000')],
  ['an exponent', (r, k) => r.set(k, '1.7e15')],
  ['a huge string (2 MB)', (r, k) => r.set(k, 'x'.repeat(2_000_000))],
];

/** Junk at a lock hold: refused (ERR_CORRUPT_DATA) unless it looks like a holder with an expiry. */
const HOLD_JUNK: Array<[string, Write, 'corrupt' | 'held']> = [
  ['a hash', (r, k) => r.hset(k, 'f', 'x'), 'corrupt'],
  ['a list', (r, k) => r.rpush(k, 'x'), 'corrupt'],
  ['a sorted set', (r, k) => r.zadd(k, 1, 'x'), 'corrupt'],
  ['a string without expiry', (r, k) => r.set(k, 'someone'), 'corrupt'],
  ['an empty string without expiry', (r, k) => r.set(k, ''), 'corrupt'],
  ['a huge string without expiry', (r, k) => r.set(k, 'x'.repeat(2_000_000)), 'corrupt'],
  ['a string with an expiry (a foreign holder)', (r, k) => r.set(k, 'someone', 'PX', 60_000), 'held'],
];

/** Junk at a semaphore's holder set. */
const SEM_JUNK: Array<[string, Write, 'corrupt' | 'held' | 'free']> = [
  ['a string', (r, k) => r.set(k, 'x'), 'corrupt'],
  ['a hash', (r, k) => r.hset(k, 'f', 'x'), 'corrupt'],
  ['a list', (r, k) => r.rpush(k, 'x'), 'corrupt'],
  [
    'holders without expiry',
    (r, k) => r.zadd(k, Date.now() + 60_000, 'a', Date.now() + 60_000, 'b'),
    'corrupt',
  ],
  [
    'a holder scored +inf',
    async (r, k) => {
      await r.zadd(k, '+inf', 'forever');
      await r.pexpire(k, 60_000);
    },
    'corrupt',
  ],
  [
    'a holder scored 10 years ahead',
    async (r, k) => {
      await r.zadd(k, Date.now() + 10 * 365 * 86_400_000, 'far');
      await r.pexpire(k, 60_000);
    },
    'corrupt',
  ],
  [
    'expired holders with junk members',
    async (r, k) => {
      await r.zadd(k, -5, '\u0000', 1, 'x'.repeat(10_000), '-inf', 'old');
      await r.pexpire(k, 60_000);
    },
    'free',
  ],
  [
    'foreign holders filling every slot, with expiry',
    async (r, k) => {
      await r.zadd(k, Date.now() + 60_000, 'a', Date.now() + 60_000, 'b');
      await r.pexpire(k, 60_000);
    },
    'held',
  ],
];

describe('foreign data in every key family of the Redis lock adapter', () => {
  let server: RedisServer;
  let admin: Redis;
  let prefix: string;
  let adapter: ReturnType<typeof redisLockAdapter>;
  let locks: DistributedLock;
  let sem: DistributedSemaphore;
  let unhandled: ReturnType<typeof watchUnhandled>;
  const errors: unknown[] = [];
  /** The largest fencing token seen per resource and primitive: a later one must be larger. */
  const highest = new Map<string, number>();
  function expectGrowing(key: string, token: number): void {
    expect(token).toBeGreaterThan(highest.get(key) ?? 0);
    highest.set(key, token);
  }

  beforeAll(async () => {
    unhandled = watchUnhandled();
    server = await startRedisServer();
    admin = server.client();
    prefix = uniquePrefix('foreign-lock');
    adapter = redisLockAdapter({ connection: server.client(), prefix });
    locks = new DistributedLock({ adapter, waitMs: 100, retryMinMs: 5, retryMaxMs: 20 });
    sem = new DistributedSemaphore({ adapter, limit: 2, waitMs: 100, retryMinMs: 5, retryMaxMs: 20 });
    locks.on('error', ({ error }) => errors.push(error));
    sem.on('error', ({ error }) => errors.push(error));
  });

  afterAll(async () => {
    await locks?.close();
    await sem?.close();
    await adapter?.close();
    await server?.stop();
    expect(unhandled.stop()).toEqual([]);
  });

  /** A good resource works on the same adapter, with a token above every earlier one. */
  async function goodResourceWorks(): Promise<void> {
    for (const primitive of [locks, sem]) {
      const lease = await primitive.acquire('good', { ttlMs: 5_000 });
      expectGrowing('good', lease.fencingToken);
      expect(await lease.release()).toBe(true);
      expectGrowing('good', await primitive.withLock('good', (l) => l.fencingToken));
    }
  }

  /** Every call on `resource` of `primitive`: the outcomes, as codes or 'granted' / 'null'. */
  async function outcomes(
    primitive: DistributedLock | DistributedSemaphore,
    resource: string,
  ): Promise<string[]> {
    const seen: string[] = [];
    const record = async (run: () => Promise<unknown>) => {
      try {
        const value = await run();
        if (value === null) seen.push('null');
        else if (typeof (value as Lease | undefined)?.fencingToken === 'number') {
          const lease = value as Lease;
          expectGrowing(resource, lease.fencingToken);
          seen.push('granted');
          await lease.release();
        } else seen.push('ok');
      } catch (err) {
        expect(isScaleoutError(err)).toBe(true);
        expect((err as { code: string }).code).not.toBe('ERR_CONNECTION');
        seen.push((err as { code: string }).code);
      }
    };
    await record(() => primitive.acquire(resource));
    await record(() => primitive.tryAcquire(resource));
    await record(() => primitive.withLock(resource, () => undefined));
    return seen;
  }

  it.each(FENCE_JUNK)(
    'a fencing counter holding %s: every acquire is ERR_CORRUPT_DATA, nothing held',
    async (name, write) => {
      for (const [primitive, limit] of [
        [locks, 1],
        [sem, 2],
      ] as const) {
        const resource = `fence:${limit}:${name}`;
        const keys = adapter.keysOf(resource, limit);
        await write(admin, keys.fence);
        expect(await outcomes(primitive, resource)).toEqual([
          'ERR_CORRUPT_DATA',
          'ERR_CORRUPT_DATA',
          'ERR_CORRUPT_DATA',
        ]);
        expect(await admin.exists(keys.hold)).toBe(0);
        // the record is left for the operator to inspect and delete (docs/lock.md)
        expect(await admin.exists(keys.fence)).toBe(1);
        await admin.del(keys.fence);
        expect(await outcomes(primitive, resource)).toEqual(['granted', 'granted', 'ok']);
      }
      await goodResourceWorks();
    },
  );

  it.each(FENCE_JUNK)(
    'a waiter marker holding %s: never read, the lock works and the junk is cleared by the next release',
    async (name, write) => {
      const resource = `waiting:${name}`;
      const keys = adapter.keysOf(resource, 1);
      await write(admin, keys.waiting);
      expect(await outcomes(locks, resource)).toEqual(['granted', 'granted', 'ok']);
      // the first release took it as "someone waits" (one spurious wake-up at most) and deleted it
      expect(await admin.exists(keys.waiting)).toBe(0);
      await goodResourceWorks();
    },
  );

  it.each(HOLD_JUNK)('a lock hold holding %s', async (name, write, expected) => {
    const resource = `hold:${name}`;
    const keys = adapter.keysOf(resource, 1);
    await write(admin, keys.hold);
    expect(await outcomes(locks, resource)).toEqual(
      expected === 'corrupt'
        ? ['ERR_CORRUPT_DATA', 'ERR_CORRUPT_DATA', 'ERR_CORRUPT_DATA']
        : ['ERR_LOCK_NOT_ACQUIRED', 'null', 'ERR_LOCK_NOT_ACQUIRED'],
    );
    await goodResourceWorks();
  });

  it.each(SEM_JUNK)('a semaphore set holding %s', async (name, write, expected) => {
    const resource = `sem:${name}`;
    const keys = adapter.keysOf(resource, 2);
    await write(admin, keys.hold);
    expect(await outcomes(sem, resource)).toEqual(
      expected === 'corrupt'
        ? ['ERR_CORRUPT_DATA', 'ERR_CORRUPT_DATA', 'ERR_CORRUPT_DATA']
        : expected === 'held'
          ? ['ERR_LOCK_NOT_ACQUIRED', 'null', 'ERR_LOCK_NOT_ACQUIRED']
          : ['granted', 'granted', 'ok'],
    );
    await goodResourceWorks();
  });

  it('a hold replaced by junk while leased: release and extend are ERR_CORRUPT_DATA, withLock reports it and returns', async () => {
    for (const [primitive, limit] of [
      [locks, 1],
      [sem, 2],
    ] as const) {
      const resource = `swap:${limit}`;
      const keys = adapter.keysOf(resource, limit);
      const lease = await primitive.acquire(resource, { ttlMs: 10_000 });
      await admin.del(keys.hold);
      await admin.hset(keys.hold, 'f', 'x');
      await expect(lease.extend()).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
      // the store answers the release with the same data error (typed, never ERR_CONNECTION)
      await expect(lease.release()).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
      errors.length = 0;
      const result = await primitive.withLock(`${resource}:w`, async () => {
        const k = adapter.keysOf(`${resource}:w`, limit).hold;
        await admin.del(k);
        await admin.set(k, 'junk');
        return 'done';
      });
      expect(result).toBe('done');
      expect(errors.length).toBe(limit === 1 ? 0 : 1);
      await admin.del(keys.hold, adapter.keysOf(`${resource}:w`, limit).hold);
    }
    await goodResourceWorks();
  });

  it('junk on the release channels only wakes waiters: no crash, no grant while held', async () => {
    const holder = await locks.acquire('chan', { ttlMs: 5_000 });
    // The waiters wait while ~40 MB of junk is published below: on a loaded
    // machine that alone took over a second, so their wait must outlast it.
    const waiting = locks.acquire('chan', { waitMs: 10_000 });
    const semHolders = [await sem.acquire('chan'), await sem.acquire('chan')];
    const semWaiting = sem.acquire('chan', { waitMs: 10_000 });
    const channels = [adapter.keysOf('chan', 1).channel, adapter.keysOf('chan', 2).channel];
    for (const message of ['', 'junk', '1', 'x'.repeat(1_000_000), '{"\\u005f_proto__":1}']) {
      for (const channel of channels) {
        for (let i = 0; i < 20; i++) await admin.publish(channel, message);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await locks.tryAcquire('chan')).toBeNull();
    await holder.release();
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
    await next.release();
    await semHolders[0]!.release();
    await (await semWaiting).release();
    await semHolders[1]!.release();
    await goodResourceWorks();
  });

  it('Redlock over three databases: junk on one instance still grants with a growing token; on two it is ERR_CORRUPT_DATA', async () => {
    const rlPrefix = uniquePrefix('foreign-rl');
    const urls = [0, 1, 2].map((db) => `${server.url}/${db}`);
    const dbs = [0, 1, 2].map((db) => server.client({ db }));
    const rl = new DistributedLock({
      adapter: redlockAdapter({ connections: urls, prefix: rlPrefix }),
      waitMs: 50,
    });
    const keys = redisLockAdapter({ connection: server.client(), prefix: rlPrefix }).keysOf('r', 1);
    let last = 0;
    for (const [, write] of FENCE_JUNK.slice(0, 8)) {
      await dbs[0]!.del(keys.fence, keys.hold);
      await write(dbs[0]!, keys.fence);
      const lease = await rl.acquire('r');
      expect(lease.fencingToken).toBeGreaterThan(last);
      last = lease.fencingToken;
      await lease.release();
      await dbs[1]!.del(keys.fence);
      await write(dbs[1]!, keys.fence);
      await expect(rl.acquire('r')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
      for (const db of dbs) expect(await db.exists(keys.hold)).toBe(0);
      await dbs[1]!.del(keys.fence);
    }
    await rl.close();
    await rl.adapter.close();
  });
});
