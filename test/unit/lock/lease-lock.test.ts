// What DistributedLock and DistributedSemaphore share (src/lock/lease-lock.ts):
// argument checks, withLock, close.
import { describe, expect, it } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../../../src/contracts/lock.js';
import { isScaleoutError } from '../../../src/errors.js';
import { DistributedLock, DistributedSemaphore } from '../../../src/lock/index.js';
import { fakeClock } from '../../helpers/clock.js';
import { delay, expectNoUnhandledRejections, FaultyAdapter } from './lock-test-kit.js';

expectNoUnhandledRejections();

describe('DistributedLock: arguments and withLock', () => {
  it('rejects bad input with typed errors', async () => {
    const locks = new DistributedLock();
    for (const resource of ['', 42, null, 'a\nb', 'x'.repeat(2000)]) {
      await expect(locks.acquire(resource as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      await expect(locks.tryAcquire(resource as string)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 * 365 * 86_400_000, 2]) {
      await expect(locks.acquire('r', { ttlMs })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    await expect(locks.acquire('r', { waitMs: -5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(locks.withLock('r', 'nope' as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    const lease = await locks.acquire('r');
    await expect(lease.extend(0)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await lease.release();
    expect(() => new DistributedLock({ ttlMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new DistributedLock({ driftFactor: 0.9 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new DistributedLock({ retryMinMs: 500, retryMaxMs: 100 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new DistributedLock({ adapter: {} as LockAdapter })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new DistributedSemaphore({ limit: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    await locks.close();
  });

  it('withLock releases when fn throws and returns its value otherwise', async () => {
    const adapter = new FaultyAdapter();
    const locks = new DistributedLock({ adapter });
    await expect(
      locks.withLock('r', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(adapter.releases).toBe(1);
    expect(await locks.withLock('r', async (lease) => lease.fencingToken)).toBeGreaterThan(0);
    expect(adapter.releases).toBe(2);
    expect(await locks.tryAcquire('r')).not.toBeNull();
    await locks.close();
  });
});

describe('DistributedLock: events', () => {
  it('on() returns an unsubscribe function; off() removes a listener too', async () => {
    const locks = new DistributedLock();
    const seen: string[] = [];
    const onAcquired = ({ resource }: { resource: string }) => seen.push(`a:${resource}`);
    const stop = locks.on('released', ({ resource, owned }) => seen.push(`r:${resource}:${owned}`));
    locks.on('acquired', onAcquired);
    await (await locks.acquire('one')).release();
    locks.off('acquired', onAcquired);
    stop();
    await (await locks.acquire('two')).release();
    expect(seen).toEqual(['a:one', 'r:one:true']);
    await locks.close();
  });
});

describe('close', () => {
  it('close rejects waiters with ClosedError and later calls too', async () => {
    const locks = new DistributedLock({ waitMs: 20_000 });
    const held = await locks.acquire('r');
    const waiting = locks.acquire('r');
    await delay(5);
    await locks.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(held.signal.aborted).toBe(true);
    await expect(locks.acquire('r')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('still releases leases on a shared adapter after the lock is closed', async () => {
    const adapter = new MemoryLockAdapter();
    const locks = new DistributedLock({ adapter });
    const lease = await locks.acquire('r');
    await locks.close();
    expect(await lease.release()).toBe(true);
    const other = new DistributedLock({ adapter });
    expect(await other.tryAcquire('r')).not.toBeNull();
    await other.close();
  });

  it('closes the adapter it created, once: every close call gets the same promise', async () => {
    const locks = new DistributedLock();
    const first = locks.close();
    expect(locks.close()).toBe(first);
    expect(locks[Symbol.asyncDispose]()).toBe(first);
    await first;
    await expect(
      locks.adapter.acquire({ resource: 'r', token: 't', ttlMs: 1_000, limit: 1 }),
    ).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('listeners that close runs (a lease signal aborting) already find the lock closed', async () => {
    const locks = new DistributedLock();
    const lease = await locks.acquire('r');
    let during: Promise<unknown> | undefined;
    lease.signal.addEventListener('abort', () => {
      during = locks.acquire('other').catch((e: unknown) => e);
    });
    await locks.close();
    expect(isScaleoutError(lease.signal.reason, 'ERR_CLOSED')).toBe(true);
    expect(await during).toMatchObject({ code: 'ERR_CLOSED', message: 'DistributedLock is closed' });
  });

  it('builds its memory adapter on its own clock', async () => {
    const clock = fakeClock();
    const locks = new DistributedLock({ clock });
    const lease = await locks.acquire('r', { ttlMs: 1_000 });
    expect(await locks.tryAcquire('r')).toBeNull();
    clock.advance(1_001);
    const next = await locks.tryAcquire('r');
    expect(next?.fencingToken).toBeGreaterThan(lease.fencingToken);
    await locks.close();
  });
});
