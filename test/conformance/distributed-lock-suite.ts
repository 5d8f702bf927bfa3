/**
 * The scenarios of DistributedLock / DistributedSemaphore that hold on every
 * adapter, written once and run over each: memory (test/unit/lock/
 * distributed-lock.test.ts), a real redis-server (distributed-lock.test.ts
 * here), a real Redis Cluster (lock-adapter-cluster.test.ts) and Redlock
 * (redlock-adapter.test.ts). What differs by store (killing a server,
 * foreign records) stays in that store's own tests.
 */
import { describe, expect, it } from 'vitest';
import type { LockAdapter } from '../../src/contracts/lock.js';
import { DistributedLock, DistributedSemaphore } from '../../src/lock/index.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Options of {@link distributedLockSuite}. */
export interface DistributedLockSuiteOptions {
  /** Names the store in the test titles. */
  name: string;
  /**
   * Two adapters over one fresh store (or one fresh namespace of it), as
   * two processes would have them; for the memory store, the same adapter twice.
   */
  create(): [LockAdapter, LockAdapter] | Promise<[LockAdapter, LockAdapter]>;
  /** Whether the adapters hold semaphores (`limit > 1`). @default true */
  semaphores?: boolean;
  /** How many withLock calls contend for one resource. @default 30 */
  contenders?: number;
}

/** Registers the suite (vitest's describe/it) for one store. */
export function distributedLockSuite(options: DistributedLockSuiteOptions): void {
  const semaphores = options.semaphores !== false;
  const contenders = options.contenders ?? 30;
  /** Runs `fn` with fresh adapters and closes them after (the locks never close an adapter they were given). */
  const withAdapters = (fn: (a: LockAdapter, b: LockAdapter) => Promise<void>) => async (): Promise<void> => {
    const [a, b] = await options.create();
    try {
      await fn(a, b);
    } finally {
      await a.close();
      if (b !== a) await b.close();
    }
  };

  describe(`DistributedLock over ${options.name}`, () => {
    it(
      'acquires, hands out growing fencing tokens, and releases once',
      withAdapters(async (adapter) => {
        const locks = new DistributedLock({ adapter });
        const a = await locks.acquire('r', { ttlMs: 1000 });
        expect(a.resource).toBe('r');
        expect(a.signal.aborted).toBe(false);
        expect(a.expiresAt).toBeGreaterThan(Date.now());
        expect(a.expiresAt).toBeLessThanOrEqual(Date.now() + 1000);
        expect(await locks.tryAcquire('r')).toBeNull();
        expect(await locks.release(a)).toBe(true);
        expect(a.released).toBe(true);
        expect(a.signal.aborted).toBe(true);
        expect(await locks.release(a)).toBe(false);
        expect(await a.release()).toBe(false);
        const b = await locks.acquire('r');
        expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
        await b.release();
        await locks.close();
      }),
    );

    it(
      'wakes a waiter in another instance through the adapter release notification, not by polling',
      withAdapters(async (adapterA, adapterB) => {
        const a = new DistributedLock({ adapter: adapterA });
        // Polls at most once a minute: only the notification can wake it in time.
        const b = new DistributedLock({ adapter: adapterB, retryMinMs: 60_000, retryMaxMs: 60_000 });
        const held = await a.acquire('r', { ttlMs: 60_000 });
        const waiting = b.acquire('r', { waitMs: 20_000 });
        await delay(100);
        await held.release();
        const lease = await waiting;
        expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
        await lease.release();
        await a.close();
        await b.close();
      }),
    );

    it(
      `serves ${contenders} contending withLock calls one at a time with strictly growing fencing tokens`,
      withAdapters(async (adapterA, adapterB) => {
        const locks = [adapterA, adapterB, adapterA].map(
          (adapter) => new DistributedLock({ adapter, waitMs: 20_000 }),
        );
        let inside = 0;
        let overlap = 0;
        const seen: number[] = [];
        await Promise.all(
          Array.from({ length: contenders }, (_, i) =>
            locks[i % 3]!.withLock('r', async (lease) => {
              inside += 1;
              if (inside > 1) overlap += 1;
              seen.push(lease.fencingToken);
              await delay(1);
              inside -= 1;
            }),
          ),
        );
        expect(overlap).toBe(0);
        expect(seen).toHaveLength(contenders);
        expect([...seen].sort((x, y) => x - y)).toEqual(seen);
        for (const l of locks) await l.close();
      }),
    );

    if (semaphores) {
      it(
        'semaphore: at most `limit` holders across instances',
        withAdapters(async (adapterA, adapterB) => {
          const sems = [adapterA, adapterB].map(
            (adapter) => new DistributedSemaphore({ adapter, limit: 2, waitMs: 20_000 }),
          );
          let running = 0;
          let peak = 0;
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              sems[i % 2]!.withLock('pool', async () => {
                running += 1;
                peak = Math.max(peak, running);
                await delay(10);
                running -= 1;
              }),
            ),
          );
          expect(peak).toBe(2);
          for (const s of sems) await s.close();
        }),
      );
    }

    it(
      'two primitives sharing one adapter: closing either leaves the other working',
      withAdapters(async (adapter) => {
        const other = () =>
          semaphores ? new DistributedSemaphore({ adapter, limit: 2 }) : new DistributedLock({ adapter });
        for (const closeFirst of [true, false]) {
          const lock = new DistributedLock({ adapter });
          const sibling = other();
          // Both have used the adapter, including its release notifications.
          const held = await lock.acquire('shared', { ttlMs: 10_000 });
          const waiting = sibling.acquire('shared-2', { ttlMs: 10_000 });
          await (await waiting).release();
          await held.release();
          const [closed, open] = closeFirst ? [lock, sibling] : [sibling, lock];
          await closed.close();
          await expect(closed.acquire('x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
          // The one left open still acquires, waits, is woken by a release, and releases.
          const limit = open instanceof DistributedSemaphore ? open.limit : 1;
          const holds = [];
          for (let i = 0; i < limit; i++) holds.push(await open.acquire('r', { ttlMs: 10_000 }));
          const slow = { adapter, retryMinMs: 60_000, retryMaxMs: 60_000 };
          const waiter =
            open instanceof DistributedSemaphore
              ? new DistributedSemaphore({ ...slow, limit })
              : new DistributedLock(slow);
          const queued = waiter.acquire('r', { waitMs: 20_000 });
          await delay(50);
          expect(await holds[0]!.release()).toBe(true);
          const next = await queued;
          expect(next.fencingToken).toBeGreaterThan(holds[0]!.fencingToken);
          expect(await next.release()).toBe(true);
          for (const h of holds.slice(1)) expect(await h.release()).toBe(true);
          await waiter.close();
          await open.close();
        }
        // Nor did any of them close the adapter.
        const r = await adapter.acquire({ resource: 'after', token: 't', ttlMs: 1_000, limit: 1 });
        expect(r.acquired).toBe(true);
      }),
    );
  });
}
