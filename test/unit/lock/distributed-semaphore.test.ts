import { describe, expect, it } from 'vitest';
import { DistributedSemaphore } from '../../../src/lock/index.js';
import { delay, expectNoUnhandledRejections } from './lock-test-kit.js';

expectNoUnhandledRejections();

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
