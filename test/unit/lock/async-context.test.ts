import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../../../src/contracts/lock.js';
import { DistributedLock, DistributedSemaphore } from '../../../src/lock/index.js';
import type { Subscription } from '../../../src/types.js';
import { collected, weaklyHeld } from '../../helpers/gc.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A memory adapter that notes the async context of every grant, by fencing token. */
class ObservedAdapter extends MemoryLockAdapter {
  readonly grants = new Map<number, string | undefined>();
  constructor(
    readonly als: AsyncLocalStorage<string>,
    readonly notify = true,
  ) {
    super();
  }
  override async acquire(...args: Parameters<LockAdapter['acquire']>) {
    const store = this.als.getStore();
    const result = await super.acquire(...args);
    if (result.acquired) this.grants.set(result.fencingToken, store);
    return result;
  }
  override onRelease(resource: string, limit: number, listener: () => void): Promise<Subscription> {
    // Without notifications, waiters only learn of a release by polling.
    if (!this.notify) return Promise.resolve({ unsubscribe: async () => {} });
    return super.onRelease(resource, limit, listener);
  }
}

describe('DistributedLock: async context of waiters', () => {
  for (const notify of [true, false]) {
    it(`runs each waiter's acquire attempts in that waiter's context (${notify ? 'release notifications' : 'polling'})`, async () => {
      const als = new AsyncLocalStorage<string>();
      const adapter = new ObservedAdapter(als, notify);
      const locks = new DistributedLock({ adapter, retryMinMs: 10, retryMaxMs: 20, waitMs: 5_000 });
      const held = await als.run('holder', () => locks.acquire('r', { ttlMs: 10_000 }));
      // Three waiters queue behind the holder, each in its own request.
      const waiters = ['A', 'B', 'C'].map((name) =>
        als.run(name, async () => {
          const lease = await locks.acquire('r', { ttlMs: 10_000 });
          const token = lease.fencingToken;
          await delay(5);
          await lease.release();
          return [name, token] as const;
        }),
      );
      await delay(50);
      await als.run('holder', () => held.release());
      const granted = await Promise.all(waiters);
      // The grant each waiter got was asked for in that waiter's context,
      // not in the holder's (its release) or the first waiter's (its poll timer).
      expect(granted.map(([name, token]) => [name, adapter.grants.get(token)])).toEqual([
        ['A', 'A'],
        ['B', 'B'],
        ['C', 'C'],
      ]);
      await locks.close();
    });
  }

  it("a semaphore's queued waiters each acquire in their own context", async () => {
    const als = new AsyncLocalStorage<string>();
    const adapter = new ObservedAdapter(als);
    const slots = new DistributedSemaphore({
      adapter,
      limit: 2,
      retryMinMs: 10,
      retryMaxMs: 20,
      waitMs: 5_000,
    });
    const first = await als.run('holder', () => slots.acquire('s', { ttlMs: 10_000 }));
    const second = await als.run('holder', () => slots.acquire('s', { ttlMs: 10_000 }));
    const waiters = ['A', 'B'].map((name) =>
      als.run(name, async () => {
        const lease = await slots.acquire('s', { ttlMs: 10_000 });
        return [name, lease.fencingToken] as const;
      }),
    );
    await delay(30);
    await als.run('holder', async () => {
      await first.release();
      await second.release();
    });
    const granted = await Promise.all(waiters);
    expect(granted.map(([name, token]) => [name, adapter.grants.get(token)])).toEqual([
      ['A', 'A'],
      ['B', 'B'],
    ]);
    await slots.close();
  });
});

describe('DistributedLock: background work keeps no request alive', () => {
  it('the operation-timeout sweeper does not retain the context of the call that started it', async () => {
    const als = new AsyncLocalStorage<object>();
    const adapter = new MemoryLockAdapter();
    const locks = new DistributedLock({ adapter, operationTimeoutMs: 60_000 });
    // A request acquires and releases: the sweeper starts in its call.
    const ref = await weaklyHeld((request) =>
      als.run(request, async () => {
        const lease = await locks.acquire('r');
        await lease.release();
      }),
    );
    // Other work keeps a call in flight, so the sweeper keeps running.
    const slow = new Promise<never>(() => {});
    const original = adapter.acquire.bind(adapter);
    adapter.acquire = () => slow;
    const pending = locks.tryAcquire('other').catch(() => null);
    adapter.acquire = original;
    expect(await collected(ref)).toBe(true);
    void pending;
    await locks.close();
  });
});
