import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../../../src/contracts/lock.js';
import { ConnectionError, isScaleoutError } from '../../../src/errors.js';
import { DistributedLock, DistributedSemaphore, type Lease } from '../../../src/lock/index.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  // Let stray promise jobs settle before checking.
  await delay(20);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** A memory adapter whose operations can be made to fail or hang. */
class FaultyAdapter extends MemoryLockAdapter {
  failAcquire: Error | undefined;
  hangAcquire = false;
  failExtend: Error | undefined;
  refuseExtend = false;
  releases = 0;
  override acquire(...args: Parameters<LockAdapter['acquire']>) {
    if (this.hangAcquire) return new Promise<never>(() => {});
    if (this.failAcquire) return Promise.reject(this.failAcquire);
    return super.acquire(...args);
  }
  override extend(...args: Parameters<LockAdapter['extend']>) {
    if (this.failExtend) return Promise.reject(this.failExtend);
    if (this.refuseExtend) return Promise.resolve({ extended: false as const });
    return super.extend(...args);
  }
  override release(...args: Parameters<LockAdapter['release']>) {
    this.releases += 1;
    return super.release(...args);
  }
}

describe('DistributedLock', () => {
  it('acquires, hands out growing fencing tokens, and releases once', async () => {
    const locks = new DistributedLock();
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
  });

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

  it('wakes a waiter in another instance through the adapter release notification', async () => {
    const adapter = new MemoryLockAdapter();
    const a = new DistributedLock({ adapter });
    const b = new DistributedLock({ adapter, retryMinMs: 60_000, retryMaxMs: 60_000 });
    const held = await a.acquire('r', { ttlMs: 60_000 });
    const waiting = b.acquire('r', { waitMs: 20_000 });
    await delay(30);
    await held.release();
    const lease = await waiting;
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
    await lease.release();
    await a.close();
    await b.close();
  });

  it('refuses forged leases and leases of another lock, and never frees their hold', async () => {
    const adapter = new MemoryLockAdapter();
    const a = new DistributedLock({ adapter });
    const b = new DistributedLock({ adapter });
    const lease = await a.acquire('r');
    const forged = { ...lease } as Lease;
    await expect(a.release(forged)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(b.release(lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(a.release(null as unknown as Lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(b.extend(lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await b.tryAcquire('r')).toBeNull();
    expect(await lease.release()).toBe(true);
    await a.close();
    await b.close();
  });

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

  it('times out exactly the calls that hang, among calls that settle, and ignores late answers', async () => {
    // Calls in flight leave the tracking array as they settle (swapped with
    // the last one); the sweep must still find every hanging call.
    const late = new Map<string, () => void>();
    class Selective extends MemoryLockAdapter {
      override acquire(...args: Parameters<LockAdapter['acquire']>) {
        const [request] = args;
        if (!request.resource.startsWith('hang')) return super.acquire(...args);
        return new Promise<Awaited<ReturnType<LockAdapter['acquire']>>>((resolve) => {
          late.set(request.resource, () => resolve(super.acquire(...args)));
        });
      }
    }
    const locks = new DistributedLock({ adapter: new Selective(), operationTimeoutMs: 60 });
    const calls = ['hang-a', 'ok-1', 'hang-b', 'ok-2', 'hang-c'].map((r) =>
      locks.tryAcquire(r).then(
        (lease) => ({ r, lease }),
        (error: unknown) => ({ r, error }),
      ),
    );
    const results = await Promise.all(calls);
    for (const { r, ...rest } of results) {
      if (r.startsWith('hang')) expect(rest, r).toMatchObject({ error: { code: 'ERR_TIMEOUT' } });
      else expect((rest as { lease: Lease }).lease.resource, r).toBe(r);
    }
    // The hanging calls answer late: nothing is granted, nothing is unhandled.
    for (const answer of late.values()) answer();
    await delay(10);
    const again = await locks.tryAcquire('ok-3');
    expect(again?.resource).toBe('ok-3');
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
});

describe('DistributedSemaphore', () => {
  it('lets at most `limit` holders run at once and serves every waiter', async () => {
    const sem = new DistributedSemaphore({
      limit: 3,
      waitMs: 20_000,
      retryMinMs: 60_000,
      retryMaxMs: 60_000,
    });
    let running = 0;
    let peak = 0;
    const tokens = new Set<number>();
    await Promise.all(
      Array.from({ length: 12 }, () =>
        sem.withLock('pool', async (lease) => {
          tokens.add(lease.fencingToken);
          running += 1;
          peak = Math.max(peak, running);
          await delay(5);
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(tokens.size).toBe(12);
    const a = await sem.tryAcquire('pool');
    expect(a).not.toBeNull();
    await a?.release();
    await sem.close();
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

describe('close', () => {
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
