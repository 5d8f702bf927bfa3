import { describe, expectTypeOf, it } from 'vitest';
import {
  type BaseOptions,
  DistributedLock,
  type DistributedLockOptions,
  DistributedSemaphore,
  type Lease,
  type LockAdapter,
  memoryLockAdapter,
  type Subscription,
} from '../../src/index.js';

describe('DistributedLock types', () => {
  const locks = new DistributedLock({ adapter: memoryLockAdapter() });

  it('takes the base options every primitive takes', () => {
    expectTypeOf<DistributedLockOptions>().toExtend<BaseOptions<LockAdapter>>();
    expectTypeOf(new DistributedSemaphore({ limit: 2 }).limit).toEqualTypeOf<number>();
  });

  it('types acquire, tryAcquire, release and withLock', () => {
    expectTypeOf(locks.acquire('r')).toEqualTypeOf<Promise<Lease>>();
    expectTypeOf(locks.tryAcquire('r')).toEqualTypeOf<Promise<Lease | null>>();
    expectTypeOf(locks.withLock('r', () => 42)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(locks.close()).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error a bare number (the design's seconds) is refused: pass { ttlMs }
    locks.acquire('r', 10);
    // @ts-expect-error tryAcquire never waits
    locks.tryAcquire('r', { waitMs: 10 });
  });

  it('types event payloads, and on returns the unsubscribe function that off mirrors', () => {
    const stop = locks.on('acquired', ({ resource, fencingToken, waitedMs }) => {
      expectTypeOf(resource).toEqualTypeOf<string>();
      expectTypeOf(fencingToken).toEqualTypeOf<number>();
      expectTypeOf(waitedMs).toEqualTypeOf<number>();
    });
    expectTypeOf(stop).toEqualTypeOf<() => void>();
    locks.off('released', ({ owned }) => {
      expectTypeOf(owned).toEqualTypeOf<boolean>();
    });
    // @ts-expect-error no such event
    locks.on('granted', () => {});
  });

  it('onRelease resolves with the one Subscription shape', () => {
    const adapter: LockAdapter = memoryLockAdapter();
    expectTypeOf(adapter.onRelease('r', 1, () => {})).toEqualTypeOf<Promise<Subscription>>();
    expectTypeOf<Subscription['unsubscribe']>().toEqualTypeOf<() => Promise<void>>();
  });
});
