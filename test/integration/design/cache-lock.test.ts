/**
 * The design's DistributedCache, DistributedLock and processUserPoints
 * (/work/shared/seed, "Distributed Caching"), on scaleout, against a real
 * redis-server on loopback, as docs/cache.md and docs/lock.md ("From the
 * design's code") port them.
 *
 * - The design's code run as it is, with only imports and construction
 *   changed, fails loudly at each call scaleout reads differently (bare
 *   seconds, a lock built on a cache, a lock id), with the fix in the
 *   message: nothing runs with another meaning.
 * - Its ported form (the guide's: `tryAcquire(r, { ttlMs })` for the
 *   design's null-returning acquire, `{ ttlMs }` for seconds) runs in two
 *   "processes" (two instances, each with its own Redis connections)
 *   against one shared database: mutual exclusion holds, no update is lost,
 *   the losers get the design's own error, and the cache holds the result
 *   for the other process.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedCache, DistributedLock, isScaleoutError } from '../../../src/index.js';
import { redisCacheAdapter, redisLockAdapter } from '../../../src/redis.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The design's `User` model: a shared database with a slow read-modify-write, and a witness of overlap. */
class UserDb {
  readonly #points = new Map<string, number>();
  inside = 0;
  maxInside = 0;
  async findById(userId: string) {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    await sleep(5);
    const db = this;
    return {
      points: this.#points.get(userId) ?? 0,
      async save(this: { points: number }) {
        await sleep(5);
        db.#points.set(userId, this.points);
        db.inside--;
      },
    };
  }
  points(userId: string): number {
    return this.#points.get(userId) ?? 0;
  }
}

describe("the design's DistributedCache, DistributedLock and processUserPoints on scaleout", () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const close of closers.splice(0)) await close();
    for (const c of clients.splice(0)) c.disconnect();
    await server.stop();
  });

  /** One "process": its own Redis connection, built the way the guides say. */
  function newProcess() {
    const redis = new Redis(server.url); // the design: redis.createClient(process.env.REDIS_URL)
    clients.push(redis);
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: redis }),
      defaultTtlMs: 3_600_000, // the design's default ttlSeconds = 3600
    });
    const lock = new DistributedLock({
      adapter: redisLockAdapter({ connection: redis }),
      ttlMs: 30_000, // the design's defaultTTL = 30 seconds
    });
    closers.push(
      () => cache.close(),
      () => cache.adapter.close(),
      () => lock.close(),
      () => lock.adapter.close(),
    );
    return { redis, cache, lock };
  }

  it("the design's calls, unchanged, fail loudly with the fix in the message", async () => {
    const { redis, cache, lock } = newProcess();
    // const lock = new DistributedLock(cache);
    expect(() => new DistributedLock(cache as never)).toThrow(/pass \{ adapter: redisLockAdapter/);
    // const lockId = await lock.acquire(`user_points:${userId}`, 10);
    const acquire = await lock.acquire('user_points:1', 10 as never).catch((e) => e);
    expect(isScaleoutError(acquire, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect(acquire.message).toMatch(/\{ ttlMs: <milliseconds> \}.*tryAcquire\(resource, \{ ttlMs \}\)/s);
    // await cache.set(`user:${userId}:points`, user.points, 3600);
    const set = await cache.set('user:1:points', 10, 3600 as never).catch((e) => e);
    expect(isScaleoutError(set, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect(set.message).toMatch(/\{ ttlMs: <milliseconds> \}/);
    // async setNX(key, value, ttlSeconds = 30)
    expect(
      isScaleoutError(await cache.setNX('k', 'v', 30 as never).catch((e) => e), 'ERR_INVALID_OPTIONS'),
    ).toBe(true);
    // await lock.release(`user_points:${userId}`, lockId);  (lockId: a uuid string)
    const release = await lock.release('user_points:1', randomUUID() as never).catch((e) => e);
    expect(isScaleoutError(release, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect(release.message).toMatch(/takes the Lease that acquire\(\) or tryAcquire\(\) returned/);
    // nothing was stored or held by the refused calls
    expect(await redis.keys('*points*')).toEqual([]);
    expect(await lock.tryAcquire('user_points:1')).not.toBeNull();
  });

  it("the design's DistributedCache methods keep their meaning (differences as documented)", async () => {
    const a = newProcess();
    const b = newProcess();
    // get: a miss is undefined (the design: null); `!value` and `== null` read both
    const miss = await a.cache.get('nothing');
    expect(miss == null && !miss).toBe(true);
    // set/get: strings and objects come back as they were, in every process
    await a.cache.set('greeting', 'hello');
    await a.cache.set('user:1', { id: 1, name: 'Ada' }, { ttlMs: 60_000 });
    expect(await b.cache.get('greeting')).toBe('hello');
    expect(await b.cache.get('user:1')).toEqual({ id: 1, name: 'Ada' });
    const ttl = await a.redis.pttl('scaleout:cache:v:greeting');
    expect(ttl).toBeGreaterThan(3_590_000); // the design's default hour
    // a non-JSON string another program wrote: the design returned it as-is; scaleout reports it and misses
    const errors: string[] = [];
    b.cache.on('error', (e) => errors.push((e.error as { code: string }).code));
    await a.redis.set('scaleout:cache:v:raw', 'plain text');
    expect(await b.cache.get('raw')).toBeUndefined();
    expect(errors).toEqual(['ERR_DESERIALIZE']);
    // increment(key, amount = 1)
    expect(await a.cache.increment('visits')).toBe(1);
    expect(await b.cache.increment('visits', 5)).toBe(6);
    // setNX(key, value, ttlSeconds = 30) -> setNX(key, value, { ttlMs: 30_000 })
    expect(await a.cache.setNX('once', 'first', { ttlMs: 30_000 })).toBe(true);
    expect(await b.cache.setNX('once', 'second', { ttlMs: 30_000 })).toBe(false);
    expect(await b.cache.get('once')).toBe('first');
    // delete: the design returned DEL's count; scaleout returns whether the key existed
    expect(await b.cache.delete('once')).toBe(true);
    expect(await a.cache.delete('once')).toBe(false);
  });

  it('processUserPoints, ported as the guides say, excludes across two processes and loses no update', async () => {
    const User = new UserDb();

    /** The design's processUserPoints, ported: only its construction moved out, and the two marked calls. */
    function defineProcessUserPoints({ cache, lock }: ReturnType<typeof newProcess>) {
      return async function processUserPoints(userId: string, points: number) {
        // Try to acquire lock
        const lockId = await lock.tryAcquire(`user_points:${userId}`, { ttlMs: 10_000 }); // ported: acquire(r, 10)

        if (!lockId) {
          throw new Error('Could not acquire lock - another process is updating points');
        }

        try {
          // Get current points from database
          const user = await User.findById(userId);

          // Update points
          user.points += points;
          await user.save();

          // Update cache
          await cache.set(`user:${userId}:points`, user.points, { ttlMs: 3_600_000 }); // ported: 3600

          return user.points;
        } finally {
          // Always release lock when done
          await lock.release(`user_points:${userId}`, lockId);
        }
      };
    }

    const one = newProcess();
    const two = newProcess();
    const processes = [defineProcessUserPoints(one), defineProcessUserPoints(two)];
    let applied = 0;
    let refused = 0;
    // Both processes hammer one user concurrently, in waves.
    for (let wave = 0; wave < 10; wave++) {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => processes[i % 2]!('42', 1)),
      );
      for (const r of results) {
        if (r.status === 'fulfilled') applied++;
        else {
          expect((r.reason as Error).message).toBe(
            'Could not acquire lock - another process is updating points',
          );
          refused++;
        }
      }
    }
    expect(User.maxInside).toBe(1); // never two holders at once
    expect(applied).toBeGreaterThanOrEqual(10); // at least one per wave
    expect(applied + refused).toBe(200);
    expect(User.points('42')).toBe(applied); // no lost update
    // the other process reads the latest points from the cache
    expect(await two.cache.get('user:42:points')).toBe(applied);
    expect(await one.cache.get('user:42:points')).toBe(applied);
    // the lock is free again, for both processes
    const lease = await one.lock.tryAcquire('user_points:42');
    expect(lease).not.toBeNull();
    expect(await two.lock.tryAcquire('user_points:42')).toBeNull();
    await one.lock.release('user_points:42', lease!);
  });

  it("the waiting form (scaleout's acquire / withLock) applies every update from both processes", async () => {
    const User = new UserDb();
    const one = newProcess();
    const two = newProcess();
    const update = (p: ReturnType<typeof newProcess>, userId: string) =>
      p.lock.withLock(`user_points:${userId}`, async () => {
        const user = await User.findById(userId);
        user.points += 1;
        await user.save();
        await p.cache.set(`user:${userId}:points`, user.points, { ttlMs: 3_600_000 });
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => update(i % 2 ? one : two, '7')));
    expect(User.maxInside).toBe(1);
    expect(User.points('7')).toBe(40);
    expect(await one.cache.get('user:7:points')).toBe(40);
  });
});
