// The life of a granted lease (src/lock/lease-deadline.ts): its deadline and
// signal, extend, the autoExtend watchdog, the lost event.
import { describe, expect, it, vi } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import { ConnectionError, isScaleoutError } from '../../../src/errors.js';
import { DistributedLock } from '../../../src/lock/index.js';
import { fakeClock } from '../../helpers/clock.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';
import { delay, expectNoUnhandledRejections, FaultyAdapter } from './lock-test-kit.js';

expectNoUnhandledRejections();

describe('DistributedLock: lease deadline, extend and watchdog', () => {
  it('aborts the lease signal before the store lets anyone else in', async () => {
    const adapter = new MemoryLockAdapter();
    const locks = new DistributedLock({ adapter, driftFactor: 0.2 });
    const other = new DistributedLock({ adapter });
    const lease = await locks.acquire('r', { ttlMs: 300 });
    const stillHeldAtAbort = await new Promise<boolean>((resolve) => {
      lease.signal.addEventListener('abort', () => {
        other.tryAcquire('r').then((l) => resolve(l === null));
      });
    });
    expect(stillHeldAtAbort).toBe(true);
    expect(isScaleoutError(lease.signal.reason, 'ERR_LEASE_EXPIRED')).toBe(true);
    expect(await lease.extend()).toBe(false);
    await delay(120);
    const next = await other.tryAcquire('r');
    expect(next).not.toBeNull();
    expect(await lease.release()).toBe(false);
    await next?.release();
    await locks.close();
    await other.close();
  });

  it('extend pushes the deadline; a refused extend aborts the signal with LockLostError', async () => {
    const adapter = new FaultyAdapter();
    const locks = new DistributedLock({ adapter });
    const lease = await locks.acquire('r', { ttlMs: 1000 });
    const before = lease.expiresAt;
    await delay(10);
    expect(await lease.extend(5000)).toBe(true);
    expect(lease.expiresAt).toBeGreaterThan(before + 3000);
    adapter.refuseExtend = true;
    expect(await lease.extend()).toBe(false);
    expect(isScaleoutError(lease.signal.reason, 'ERR_LOCK_LOST')).toBe(true);
    adapter.refuseExtend = false;
    adapter.failExtend = new ConnectionError('down');
    const second = await locks.acquire('s', { ttlMs: 1000 });
    await expect(second.extend()).rejects.toBeInstanceOf(ConnectionError);
    expect(isScaleoutError(second.signal.reason, 'ERR_LOCK_LOST')).toBe(true);
    await locks.close();
  });

  it('the autoExtend watchdog keeps a lease past its TTL, and a failing extend aborts the signal without unhandled rejections', async () => {
    const adapter = new FaultyAdapter();
    const locks = new DistributedLock({ adapter });
    const other = new DistributedLock({ adapter });
    await locks.withLock(
      'r',
      async (lease) => {
        await delay(450);
        expect(lease.signal.aborted).toBe(false);
        expect(await other.tryAcquire('r')).toBeNull();
      },
      { ttlMs: 150, autoExtend: true },
    );
    const errors: unknown[] = [];
    locks.on('error', (e) => errors.push(e.error));
    const reason = await locks.withLock(
      'r',
      async (lease) => {
        adapter.failExtend = new ConnectionError('redis down');
        await new Promise<void>((resolve) => lease.signal.addEventListener('abort', () => resolve()));
        return lease.signal.reason;
      },
      { ttlMs: 150, autoExtend: true },
    );
    expect(isScaleoutError(reason, 'ERR_LOCK_LOST')).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    await locks.close();
    await other.close();
  });
});

describe('lease signal', () => {
  it('is already aborted when first read after the deadline passed', async () => {
    const locks = new DistributedLock();
    const lease = await locks.acquire('r', { ttlMs: 50 });
    await delay(120);
    expect(lease.signal.aborted).toBe(true);
    expect(isScaleoutError(lease.signal.reason, 'ERR_LEASE_EXPIRED')).toBe(true);
    expect(await lease.release()).toBe(false);
    await locks.close();
  });

  it('an unread signal still makes extend refuse a lease past its deadline', async () => {
    const locks = new DistributedLock({ driftFactor: 0.4 });
    const lease = await locks.acquire('r', { ttlMs: 100 });
    await delay(75); // past the local deadline (60 ms), before the store's expiry (100 ms)
    expect(await lease.extend()).toBe(false);
    expect(lease.signal.aborted).toBe(true);
    await locks.close();
  });

  it('emits lost for watched leases at their deadline', async () => {
    const locks = new DistributedLock();
    const lost: string[] = [];
    locks.on('lost', (e) => lost.push(e.resource));
    await locks.acquire('r', { ttlMs: 40 });
    await delay(120);
    expect(lost).toEqual(['r']);
    await locks.close();
  });
});

describe('DistributedLock: a lease deadline past the 32-bit timer range', () => {
  it('a 35-day lease is not lost at ~24.8 days (the longest node timer), only at its deadline', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const clock = fakeClock();
      const adapter = new MemoryLockAdapter({ clock });
      const locks = new DistributedLock({ adapter, clock, driftFactor: 0 });
      const lease = await locks.acquire('r', { ttlMs: PAST_TIMER_RANGE_MS });
      const deadline = lease.expiresAt - clock.now();
      const pass = async (ms: number) => {
        clock.advance(ms);
        await vi.advanceTimersByTimeAsync(ms);
      };
      expect(lease.signal.aborted).toBe(false);
      await pass(25 * 24 * 60 * 60 * 1000);
      expect(lease.signal.aborted).toBe(false);
      await pass(deadline - 25 * 24 * 60 * 60 * 1000);
      expect(lease.signal.aborted).toBe(true);
      expect(isScaleoutError(lease.signal.reason, 'ERR_LEASE_EXPIRED')).toBe(true);
      await locks.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
