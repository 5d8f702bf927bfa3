/**
 * One OS process of the lock safety test: several async workers increment a
 * counter held by the parent process (a fake storage service reached over
 * IPC) under a DistributedLock on real Redis. Some workers freeze the whole
 * process (Atomics.wait, like a long GC pause) for longer than the TTL
 * between their read and their write, then write without yielding, so the
 * lease signal cannot save them: only fencing tokens can. Runs on the
 * worker harness (test/helpers/workers.ts): storage calls are messages.
 */
import { Redis } from 'ioredis';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { isScaleoutError } from '../../src/errors.js';
import { DistributedLock } from '../../src/lock/index.js';
import { type WorkerChannel, workerChannel, workerMain } from '../helpers/worker-main.js';

/** A storage call to the parent. */
export type StorageRequest = { id: number; op: 'read' | 'write'; token: number; value?: number };
/** The parent's answer to the call with the same id. */
export type StorageReply = { id: number; ok: boolean; value?: number };
/** What each process returns. */
export interface WorkerStats {
  committed: number;
  staleRejected: number;
  skippedBySignal: number;
  pauses: number;
  errors: Record<string, number>;
}

const url = process.env.REDIS_URL!;
const prefix = process.env.LOCK_PREFIX!;
const workers = Number(process.env.WORKERS ?? 4);
const runMs = Number(process.env.RUN_MS ?? 4000);
const ttlMs = Number(process.env.TTL_MS ?? 150);
const pauseChance = Number(process.env.PAUSE_CHANCE ?? 0.1);

const channel: WorkerChannel<StorageReply, StorageRequest> = workerChannel();
let nextId = 0;
function storage(op: 'read' | 'write', token: number, value?: number): Promise<StorageReply> {
  const id = nextId++;
  channel.send({ id, op, token, value });
  return channel.receive((reply) => reply.id === id);
}

const freeze = new Int32Array(new SharedArrayBuffer(4));
const stats: WorkerStats = {
  committed: 0,
  staleRejected: 0,
  skippedBySignal: 0,
  pauses: 0,
  errors: {},
};

const client = new Redis(url, { maxRetriesPerRequest: 2, retryStrategy: () => 50 });
client.on('error', () => {});
const locks = new DistributedLock({
  adapter: redisLockAdapter({ connection: client, prefix }),
  ttlMs,
  waitMs: 3000,
  operationTimeoutMs: 1000,
  retryMinMs: 20,
  retryMaxMs: 200,
});

async function worker(): Promise<void> {
  const endAt = Date.now() + runMs;
  while (Date.now() < endAt) {
    try {
      await locks.withLock('counter', async (lease) => {
        const read = await storage('read', lease.fencingToken);
        if (!read.ok) {
          stats.staleRejected += 1;
          return;
        }
        if (Math.random() < pauseChance) {
          stats.pauses += 1;
          // The whole process stops, timers included, for twice the TTL.
          Atomics.wait(freeze, 0, 0, ttlMs * 2);
        } else if (lease.signal.aborted) {
          stats.skippedBySignal += 1;
          return;
        }
        const write = await storage('write', lease.fencingToken, (read.value ?? 0) + 1);
        if (write.ok) stats.committed += 1;
        else stats.staleRejected += 1;
      });
    } catch (err) {
      const code = isScaleoutError(err) ? err.code : 'OTHER';
      stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

workerMain<WorkerStats, StorageReply, StorageRequest>(async () => {
  await Promise.all(Array.from({ length: workers }, () => worker()));
  await locks.close();
  client.disconnect();
  return stats;
});
