import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { startWorkers } from '../helpers/workers.js';
import type { StorageReply, StorageRequest, WorkerStats } from './lock-safety-worker.js';

/**
 * Fake storage that enforces fencing: every read and write carries the
 * lease's fencing token; anything older than the largest token seen is
 * refused. It also records what it accepted, to check afterwards.
 */
class FencedCounter {
  value = 0;
  highest = 0;
  acceptedWrites = 0;
  rejected = 0;
  readonly writeTokens: number[] = [];
  read(token: number): { ok: boolean; value?: number } {
    if (token < this.highest) {
      this.rejected += 1;
      return { ok: false };
    }
    this.highest = token;
    return { ok: true, value: this.value };
  }
  write(token: number, value: number): { ok: boolean } {
    if (token < this.highest) {
      this.rejected += 1;
      return { ok: false };
    }
    this.highest = token;
    this.value = value;
    this.acceptedWrites += 1;
    this.writeTokens.push(token);
    return { ok: true };
  }
}

describe.each([
  { persist: true, what: 'AOF keeps locks and counters' },
  { persist: false, what: 'no persistence: locks are lost, counters re-seed from the server clock' },
])(
  'lock safety: 3 processes × 4 workers, pauses longer than the TTL, redis-server restart ($what)',
  ({ persist }) => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer({ persist });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('accepts zero stale writes, and the counter equals the accepted writes', async () => {
      const storage = new FencedCounter();
      const prefix = uniquePrefix('safety');
      const worker = fileURLToPath(new URL('./lock-safety-worker.ts', import.meta.url));
      const processes = 3;
      const workers = await startWorkers<WorkerStats, StorageRequest, StorageReply>(worker, processes, {
        env: {
          REDIS_URL: server.url,
          LOCK_PREFIX: prefix,
          WORKERS: '4',
          RUN_MS: '3500',
          TTL_MS: '150',
          PAUSE_CHANCE: '0.1',
        },
      });
      // Serve each process's storage calls until it exits (then next() rejects and the loop ends).
      for (let p = 0; p < processes; p++) {
        void (async () => {
          for (;;) {
            const call = await workers.next(p, undefined, 60_000).catch(() => undefined);
            if (call === undefined || !workers.processes[p]!.connected) return;
            const reply =
              call.op === 'read' ? storage.read(call.token) : storage.write(call.token, call.value!);
            workers.send(p, { id: call.id, ...reply });
          }
        })();
      }
      let stats: WorkerStats[];
      let tokenBeforeRestart: number;
      try {
        workers.go();
        // Crash (SIGKILL) and restart Redis mid-run.
        // (once the workers are busy)
        for (let i = 0; i < 300 && storage.acceptedWrites < 15; i++)
          await new Promise((r) => setTimeout(r, 50));
        tokenBeforeRestart = storage.highest;
        await server.restart();
        stats = await workers.results();
      } finally {
        workers.kill();
      }

      const committed = stats.reduce((n, s) => n + s.committed, 0);
      const pauses = stats.reduce((n, s) => n + s.pauses, 0);
      // The property: no lost update, so the counter equals the accepted writes.
      expect(storage.value).toBe(storage.acceptedWrites);
      expect(committed).toBe(storage.acceptedWrites);
      // Every accepted write carried a larger token than the one before: no stale write got in.
      for (let i = 1; i < storage.writeTokens.length; i++) {
        expect(storage.writeTokens[i]!).toBeGreaterThan(storage.writeTokens[i - 1]!);
      }
      // The scenario was exercised: pauses happened, stale operations were refused,
      // tokens kept growing across the restart, and work went on after it.
      expect(pauses).toBeGreaterThan(0);
      expect(storage.rejected).toBeGreaterThan(0);
      expect(storage.highest).toBeGreaterThan(tokenBeforeRestart);
      expect(storage.acceptedWrites).toBeGreaterThan(20);
    }, 60_000);
  },
);
