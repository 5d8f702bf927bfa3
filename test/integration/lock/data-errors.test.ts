import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { redlockAdapter } from '../../../src/adapters/redis/redlock.js';
import type { LockAcquireResult } from '../../../src/contracts/lock.js';
import { CorruptDataError } from '../../../src/errors.js';
import { DistributedLock, DistributedSemaphore } from '../../../src/lock/index.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** Junk written where a fencing counter lives, by type. */
const FENCE_JUNK: Array<[string, (admin: Redis, key: string) => Promise<unknown>]> = [
  ['text', (a, k) => a.set(k, 'abc')],
  ['a fraction', (a, k) => a.set(k, '1.5')],
  ['int64 max', (a, k) => a.set(k, '9223372036854775807')],
  ['2^53 - 1', (a, k) => a.set(k, String(Number.MAX_SAFE_INTEGER))],
  ['a negative number', (a, k) => a.set(k, '-5')],
  ['a small number', (a, k) => a.set(k, '5')],
  ['an empty string', (a, k) => a.set(k, '')],
  ['a hash', (a, k) => a.hset(k, 'f', '1')],
  ['a list', (a, k) => a.rpush(k, '1')],
];

const granted = (r: LockAcquireResult) => (r.acquired ? r.fencingToken : Number.NaN);

describe('redis lock adapter: foreign records are data errors, tokens never go back', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = server.client();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each(FENCE_JUNK)(
    'a fencing counter holding %s: ERR_CORRUPT_DATA naming it, no hold taken, DEL recovers',
    async (_, write) => {
      for (const limit of [1, 3]) {
        const adapter = redisLockAdapter({ connection: server.client(), prefix: uniquePrefix('fence') });
        const keys = adapter.keysOf('r', limit);
        const before = granted(await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 10_000, limit }));
        await adapter.release({ resource: 'r', token: 'a', limit });
        await admin.del(keys.fence);
        await write(admin, keys.fence);
        for (let i = 0; i < 3; i++) {
          const err = await adapter
            .acquire({ resource: 'r', token: `b${i}`, ttlMs: 10_000, limit })
            .catch((e) => e);
          expect(err).toBeInstanceOf(CorruptDataError);
          expect(err.key).toBe(keys.fence);
          expect(err.message).toMatch(/fencing counter/);
        }
        // nothing was taken: the hold is free, and another resource works
        expect(await admin.exists(keys.hold)).toBe(0);
        expect(
          (await adapter.acquire({ resource: 'other', token: 'c', ttlMs: 10_000, limit })).acquired,
        ).toBe(true);
        // the operator's recovery (docs/lock.md): delete the counter; the next token is larger than any before
        await admin.del(keys.fence);
        const after = granted(await adapter.acquire({ resource: 'r', token: 'd', ttlMs: 10_000, limit }));
        expect(after).toBeGreaterThan(before);
        await adapter.close();
      }
    },
  );

  it('a lock record of another type or without expiry is ERR_CORRUPT_DATA, not "held" forever', async () => {
    const adapter = redisLockAdapter({ connection: server.client(), prefix: uniquePrefix('hold') });
    const locks = new DistributedLock({ adapter, waitMs: 50 });
    await admin.hset(adapter.keysOf('h', 1).hold, 'f', 'x');
    await admin.set(adapter.keysOf('p', 1).hold, 'someone');
    await admin.set(adapter.keysOf('t', 1).hold, 'someone', 'PX', 60_000);
    await expect(locks.acquire('h')).rejects.toBeInstanceOf(CorruptDataError);
    await expect(locks.tryAcquire('p')).rejects.toBeInstanceOf(CorruptDataError);
    // a foreign token with an expiry is a holder like any other: refused, and waited for
    await expect(locks.acquire('t')).rejects.toMatchObject({ code: 'ERR_LOCK_NOT_ACQUIRED' });
    expect(await admin.type(adapter.keysOf('h', 1).hold)).toBe('hash');
    await locks.close();
    await adapter.close();
  });

  it('semaphore holders of another type, without expiry or scored past a year: ERR_CORRUPT_DATA', async () => {
    const adapter = redisLockAdapter({ connection: server.client(), prefix: uniquePrefix('sem') });
    const sem = new DistributedSemaphore({ adapter, limit: 2, waitMs: 50 });
    await admin.set(adapter.keysOf('s1', 2).hold, 'x');
    await admin.zadd(adapter.keysOf('s2', 2).hold, Date.now() + 60_000, 'a', Date.now() + 60_000, 'b');
    await admin.zadd(adapter.keysOf('s3', 2).hold, '+inf', 'forever');
    await admin.pexpire(adapter.keysOf('s3', 2).hold, 60_000);
    for (const resource of ['s1', 's2', 's3']) {
      await expect(sem.acquire(resource)).rejects.toBeInstanceOf(CorruptDataError);
    }
    const lease = await sem.acquire('fine');
    expect(lease.fencingToken).toBeGreaterThan(0);
    await sem.close();
    await adapter.close();
  });

  it('release and extend of a hold replaced by another type are ERR_CORRUPT_DATA, not ERR_CONNECTION', async () => {
    const adapter = redisLockAdapter({ connection: server.client(), prefix: uniquePrefix('rel') });
    const locks = new DistributedLock({ adapter });
    const lease = await locks.acquire('r', { ttlMs: 10_000 });
    await admin.del(adapter.keysOf('r', 1).hold);
    await admin.hset(adapter.keysOf('r', 1).hold, 'f', 'x');
    await expect(locks.extend(lease)).rejects.toBeInstanceOf(CorruptDataError);
    await expect(locks.release(lease)).rejects.toBeInstanceOf(CorruptDataError);
    await locks.close();
    await adapter.close();
  });

  it('Redlock: tokens never go back, also when the instance that ran ahead drops out; a majority of foreign counters is ERR_CORRUPT_DATA', async () => {
    const prefix = uniquePrefix('rl');
    const urls = [0, 1, 2].map((db) => `${server.url}/${db}`);
    const adapter = redlockAdapter({ connections: urls, prefix });
    const dbs = urls.map((_, db) => server.client({ db }));
    const fence = adapter.instances[0]!.keysOf('r', 1).fence;
    const acquire = async (token: string) => {
      const t = granted(await adapter.acquire({ resource: 'r', token, ttlMs: 10_000, limit: 1 }));
      await adapter.release({ resource: 'r', token, limit: 1 });
      return t;
    };
    const first = await acquire('a');
    // instance 0's counter ran ahead of the others (it was in majorities they missed)
    await dbs[0]!.set(fence, String(first + 1_000), 'PX', 60_000);
    const second = await acquire('b');
    expect(second).toBe(first + 1_001);
    // instance 0 drops out of the next majority (its counter became junk): the token still grows
    await dbs[0]!.set(fence, '-5');
    const third = await acquire('c');
    expect(third).toBeGreaterThan(second);
    await dbs[1]!.set(fence, 'abc');
    await expect(
      adapter.acquire({ resource: 'r', token: 'd', ttlMs: 10_000, limit: 1 }),
    ).rejects.toBeInstanceOf(CorruptDataError);
    // nothing held anywhere after the refusal
    for (const db of dbs) expect(await db.exists(adapter.instances[0]!.keysOf('r', 1).hold)).toBe(0);
    await adapter.close();
  });
});
