import { Redis } from 'ioredis';
import { redisLockAdapter } from '../../../../src/adapters/redis/lock.js';
import { DistributedLock } from '../../../../src/lock/index.js';
import { workerMain } from '../../../helpers/worker-main.js';

// Runs 10 critical sections on one resource; inside each, counts how many
// holders are inside at once (must always be 1) through a Redis counter.
workerMain(async () => {
  const redis = new Redis(process.env.REDIS_URL!);
  const locks = new DistributedLock({
    adapter: redisLockAdapter({ connection: redis, prefix: process.env.PREFIX! }),
    waitMs: 50_000,
  });
  const inside = `${process.env.PREFIX}inside`;
  let overlaps = 0;
  let sections = 0;
  const tokens: number[] = [];
  for (let i = 0; i < 10; i++) {
    await locks.withLock('shared', async (lease) => {
      tokens.push(lease.fencingToken);
      if ((await redis.incr(inside)) !== 1) overlaps++;
      await new Promise((r) => setTimeout(r, 5));
      await redis.decr(inside);
      sections++;
    });
  }
  await locks.close();
  redis.disconnect();
  return { pid: process.pid, overlaps, sections, tokens };
});
