import { Redis } from 'ioredis';
import { defineRedisScript } from '../../../../src/adapters/redis/scripts.js';
import { workerMain } from '../../../helpers/worker-main.js';

const incr = defineRedisScript({ name: 'incr', keys: 1, lua: "return redis.call('INCR', KEYS[1])" });

workerMain(async () => {
  const redis = new Redis(process.env.REDIS_URL!);
  const seen: number[] = [];
  for (let i = 0; i < 50; i++) seen.push((await incr.run(redis, [process.env.KEY!])) as number);
  redis.disconnect();
  return { pid: process.pid, seen };
});
