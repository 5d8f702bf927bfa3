/**
 * `npm run example:lock`: the design's processUserPoints, done safely.
 * Memory adapter by default; set REDIS_URL to run on Redis.
 */
import { DistributedLock, isScaleoutError, type LockAdapter, memoryLockAdapter } from 'scaleout';

/** A points table that remembers the largest fencing token it has seen per user (a `fence` column). */
class PointsDb {
  readonly #rows = new Map<string, { points: number; fence: number }>();
  read(userId: string): number {
    return this.#rows.get(userId)?.points ?? 0;
  }
  /** Like `UPDATE points SET points = $1, fence = $2 WHERE user_id = $3 AND fence <= $2`. */
  write(userId: string, points: number, fencingToken: number): boolean {
    const row = this.#rows.get(userId) ?? { points: 0, fence: 0 };
    if (fencingToken < row.fence) return false; // a stale holder: refuse
    this.#rows.set(userId, { points, fence: fencingToken });
    return true;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const db = new PointsDb();
let adapter: LockAdapter = memoryLockAdapter();
if (process.env.REDIS_URL) {
  const { redisLockAdapter } = await import('scaleout/redis');
  adapter = redisLockAdapter({ connection: process.env.REDIS_URL, prefix: `example:${process.pid}:` });
}
const locks = new DistributedLock({ adapter, ttlMs: 2_000 });

async function processUserPoints(userId: string, points: number): Promise<void> {
  await locks.withLock(
    `user_points:${userId}`,
    async (lease) => {
      const current = db.read(userId);
      await sleep(2); // the read-modify-write that must not interleave
      lease.signal.throwIfAborted(); // stop if the lease is about to run out
      if (!db.write(userId, current + points, lease.fencingToken)) throw new Error('stale write refused');
    },
    { autoExtend: true },
  );
}

// 1. Twenty concurrent updates of one user: no lost update.
await Promise.all(Array.from({ length: 20 }, () => processUserPoints('42', 10)));
console.log(`points after 20 x 10: ${db.read('42')}`);

// 2. A holder that stalls past its TTL is fenced off.
const slow = await locks.acquire('user_points:7', { ttlMs: 100 });
const before = db.read('7');
await sleep(250); // e.g. a long GC pause: the lease ran out meanwhile
await processUserPoints('7', 5); // someone else got the lock and wrote
console.log(`slow holder's signal aborted: ${slow.signal.aborted} (${(slow.signal.reason as Error).name})`);
console.log(`stale write accepted: ${db.write('7', before + 100, slow.fencingToken)}`);
console.log(`slow holder's release: ${await slow.release()}`);
console.log(`points of user 7: ${db.read('7')}`);

// 3. tryAcquire while held, acquire with a short wait.
const held = await locks.acquire('report');
console.log(`tryAcquire while held: ${await locks.tryAcquire('report')}`);
try {
  await locks.acquire('report', { waitMs: 50 });
} catch (err) {
  console.log(`acquire with waitMs 50: ${isScaleoutError(err) ? err.code : err}`);
}
await held.release();

await locks.close();
await adapter.close();
