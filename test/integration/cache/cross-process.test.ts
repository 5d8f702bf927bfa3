import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const workerPath = fileURLToPath(new URL('./cache-worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  next(type: string): Promise<Record<string, unknown>>;
  send(message: unknown): void;
}

function startWorker(url: string, prefix: string): Worker {
  const child = fork(workerPath, [url, prefix], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: Array<Record<string, unknown>> = [];
  const waiting: Array<{
    type: string;
    resolve: (m: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }> = [];
  const deliver = () => {
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i]!;
      const idx = inbox.findIndex((m) => m.type === w.type || m.type === 'error');
      if (idx === -1) continue;
      const [m] = inbox.splice(idx, 1);
      waiting.splice(i--, 1);
      if (m!.type === 'error') w.reject(new Error(`worker failed: ${String(m!.message)}`));
      else w.resolve(m!);
    }
  };
  child.on('message', (m: Record<string, unknown>) => {
    inbox.push(m);
    deliver();
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`worker exited with ${code}`));
  });
  return {
    child,
    next: (type) =>
      new Promise((resolve, reject) => {
        waiting.push({ type, resolve, reject });
        deliver();
      }),
    send: (message) => child.send(message as never),
  };
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
  try {
    worker.send({ cmd: 'close' });
  } catch {
    // already gone
  }
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe('DistributedCache across OS processes on a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = server.client();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('8 processes x 200 concurrent getOrSet on one cold key run the loader exactly once', async () => {
    const prefix = uniquePrefix('stampede');
    const workers = Array.from({ length: 8 }, () => startWorker(server.url, prefix));
    try {
      await Promise.all(workers.map((w) => w.next('ready')));
      const answers = workers.map((w) => w.next('stampede'));
      for (const w of workers) w.send({ cmd: 'stampede', key: 'product:42', callers: 200, loaderMs: 300 });
      const results = await Promise.all(answers);
      const values = results.flatMap((r) => r.values as Array<{ loadedBy: number; at: number }>);
      expect(values).toHaveLength(8 * 200);
      expect(await admin.get(`${prefix}loader-calls`)).toBe('1');
      // Every caller in every process got the one loaded value.
      expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
    } finally {
      await Promise.all(workers.map(stopWorker));
      await deleteKeysWithPrefix(admin, prefix);
    }
  }, 90_000);

  it("a set in this process evicts the key from another process's L1", async () => {
    const prefix = uniquePrefix('l1bus');
    const worker = startWorker(server.url, prefix);
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
    });
    try {
      await Promise.all([worker.next('ready'), cache.ready()]);
      // The other process loads the value itself, so its L1 holds it and no
      // message from this process is in flight that could evict it late.
      worker.send({ cmd: 'getOrSet', key: 'user:1', value: { name: 'v1' } });
      expect((await worker.next('getOrSet')).value).toEqual({ name: 'v1' });
      worker.send({ cmd: 'get', key: 'user:1' });
      expect((await worker.next('get')).value).toEqual({ name: 'v1' });
      // Changed behind the cache's back (no bus message): the other process still serves its L1 copy.
      await admin.set(`${prefix}v:user:1`, JSON.stringify({ name: 'behind' }));
      worker.send({ cmd: 'get', key: 'user:1' });
      expect((await worker.next('get')).value).toEqual({ name: 'v1' });
      // A set through the cache publishes the eviction.
      await cache.set('user:1', { name: 'v2' });
      let seen: unknown;
      const deadline = Date.now() + 10_000;
      do {
        worker.send({ cmd: 'get', key: 'user:1' });
        seen = (await worker.next('get')).value;
      } while (JSON.stringify(seen) !== JSON.stringify({ name: 'v2' }) && Date.now() < deadline);
      expect(seen).toEqual({ name: 'v2' });
      await cache.delete('user:1');
      const until = Date.now() + 10_000;
      do {
        worker.send({ cmd: 'get', key: 'user:1' });
        seen = (await worker.next('get')).value;
      } while (seen !== null && Date.now() < until);
      expect(seen).toBeNull();
    } finally {
      await stopWorker(worker);
      await cache.close();
      await deleteKeysWithPrefix(admin, prefix);
    }
  }, 60_000);
});
