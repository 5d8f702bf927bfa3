// The adapter calls of a lock under operationTimeoutMs (src/lock/lock-calls.ts, on a DeadlineSweep).
import { describe, expect, it } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../../../src/contracts/lock.js';
import { DistributedLock, type Lease } from '../../../src/lock/index.js';
import { delay, expectNoUnhandledRejections } from './lock-test-kit.js';

expectNoUnhandledRejections();

describe('DistributedLock: adapter calls under the operation time limit', () => {
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
});
