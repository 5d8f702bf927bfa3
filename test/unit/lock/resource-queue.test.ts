// The wait queue of a resource (src/lock/resource-queue.ts): local waiters,
// hand-off on release, waitMs and abort, failing closed.
import { describe, expect, it, vi } from 'vitest';
import { ConnectionError, isScaleoutError } from '../../../src/errors.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { DistributedLock } from '../../../src/lock/index.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';
import { delay, expectNoUnhandledRejections, FaultyAdapter } from './lock-test-kit.js';

expectNoUnhandledRejections();

const DAY_MS = 24 * 60 * 60 * 1000;

describe('DistributedLock: the wait queue of a resource', () => {
  it('fails after waitMs with LockNotAcquiredError, and at once for waitMs 0', async () => {
    const locks = new DistributedLock();
    const held = await locks.acquire('r');
    const err = await locks.acquire('r', { waitMs: 60 }).catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_LOCK_NOT_ACQUIRED')).toBe(true);
    expect((err as { resource: string }).resource).toBe('r');
    const now = await locks.acquire('r', { waitMs: 0 }).catch((e: unknown) => e);
    expect(isScaleoutError(now, 'ERR_LOCK_NOT_ACQUIRED')).toBe(true);
    await held.release();
    await locks.close();
  });

  it('hands the lock to local waiters in order on release, without polling', async () => {
    // Polls at most once a minute: only release hand-offs can make this finish.
    const locks = new DistributedLock({ retryMinMs: 60_000, retryMaxMs: 60_000, waitMs: 20_000 });
    const first = await locks.acquire('r');
    const order: number[] = [];
    const tokens: number[] = [];
    const waiters = [1, 2, 3, 4, 5].map((i) =>
      locks.withLock('r', async (lease) => {
        order.push(i);
        tokens.push(lease.fencingToken);
        await delay(2);
      }),
    );
    await delay(20);
    expect(order).toEqual([]);
    await first.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
    await locks.close();
  });

  it('stops waiting on abort, and the queue moves on', async () => {
    const locks = new DistributedLock({ waitMs: 20_000 });
    const held = await locks.acquire('r');
    const ac = new AbortController();
    const first = locks.acquire('r', { signal: ac.signal });
    const second = locks.acquire('r');
    await delay(10);
    ac.abort(new Error('user cancelled'));
    await expect(first).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await held.release();
    const lease = await second;
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
    await lease.release();
    const pre = new AbortController();
    pre.abort();
    await expect(locks.acquire('r', { signal: pre.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await locks.close();
  });

  it('fails closed: a store error rejects acquire and grants nothing', async () => {
    const adapter = new FaultyAdapter();
    const locks = new DistributedLock({ adapter });
    adapter.failAcquire = new ConnectionError('redis down');
    await expect(locks.acquire('r')).rejects.toBeInstanceOf(ConnectionError);
    await expect(locks.tryAcquire('r')).rejects.toBeInstanceOf(ConnectionError);
    await expect(locks.withLock('r', () => 1)).rejects.toBeInstanceOf(ConnectionError);
    adapter.failAcquire = undefined;
    adapter.hangAcquire = true;
    const slow = new DistributedLock({ adapter, operationTimeoutMs: 50 });
    await expect(slow.acquire('r')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await delay(10);
    expect(adapter.releases).toBe(1); // the timed-out attempt's token is released in case it landed
    await locks.close();
    await slow.close();
  });

  it('gives back a grant that lands after its waiter gave up', async () => {
    const adapter = new FaultyAdapter();
    const locks = new DistributedLock({ adapter, waitMs: 20_000 });
    const held = await locks.acquire('r');
    const ac = new AbortController();
    const waiting = locks.acquire('r', { signal: ac.signal });
    await delay(10);
    // The next attempt (on release) is in flight when the waiter aborts.
    const released = held.release();
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await released;
    await delay(20);
    expect(await locks.tryAcquire('r')).not.toBeNull();
    await locks.close();
  });
});

describe('DistributedLock: waitMs past the 32-bit timer range', () => {
  it('a waitMs of 35 days gives up at 35 days, not at ~24.8 (the longest node timer)', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      // Polls every ~10 days: the holder's lease lives on the real clock, which does not move.
      const locks = new DistributedLock({ retryMinMs: 10 * DAY_MS, retryMaxMs: 10 * DAY_MS });
      const held = await locks.acquire('r', { ttlMs: 60_000 });
      let outcome: unknown;
      const waiting = locks.acquire('r', { waitMs: PAST_TIMER_RANGE_MS }).then(
        () => (outcome = 'acquired'),
        (err: unknown) => (outcome = err),
      );
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS);
      await waiting;
      expect(isScaleoutError(outcome, 'ERR_LOCK_NOT_ACQUIRED')).toBe(true);
      await held.release();
      await locks.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
