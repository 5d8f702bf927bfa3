import { Redis } from 'ioredis';
import { RedisSessionAdapter } from '../../../../src/adapters/redis/session.js';
import { SessionStore } from '../../../../src/session/session-store.js';
import { workerMain } from '../../../helpers/worker-main.js';

// Appends 25 markers of its own to one shared session with merge updates.
workerMain(async (payload) => {
  const { id } = payload as { id: string };
  const redis = new Redis(process.env.REDIS_URL!);
  const sessions = new SessionStore<{ items: string[] }>({
    adapter: new RedisSessionAdapter({ connection: redis, prefix: process.env.PREFIX! }),
    maxUpdateRetries: 1_000,
  });
  for (let i = 0; i < 25; i++) {
    await sessions.update(id, (d) => ({ items: [...d.items, `${process.env.WORKER_INDEX}:${i}`] }));
  }
  redis.disconnect();
  return { pid: process.pid };
});
