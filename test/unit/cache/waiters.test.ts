import { describe, expect, it } from 'vitest';
import { KeyWaiters } from '../../../src/cache/waiters.js';
import { PAST_TIMER_RANGE_MS, stillPendingAfter } from '../../helpers/timer-overflow.js';

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  return done;
};

describe('KeyWaiters: wake-ups of callers waiting for another instance', () => {
  it('a wake-up on the key ends its waits, not those on other keys', async () => {
    const waiters = new KeyWaiters();
    const a = waiters.wait('a', 60_000);
    const b = waiters.wait('b', 60_000);
    waiters.wake('a');
    expect(await settled(a.promise)).toBe(true);
    expect(await settled(b.promise)).toBe(false);
    b.cancel();
    expect(await settled(b.promise)).toBe(true);
  });

  it('a wait ends by itself after its poll delay', async () => {
    const waiters = new KeyWaiters();
    const wait = waiters.wait('k', 10);
    expect(await settled(wait.promise)).toBe(false);
    await wait.promise;
  });

  it('wakeAll ends every wait (close)', async () => {
    const waiters = new KeyWaiters();
    const all = ['a', 'a', 'b'].map((k) => waiters.wait(k, 60_000));
    waiters.wakeAll();
    await Promise.all(all.map((w) => w.promise));
    waiters.wake('a'); // nothing left: a no-op
  });
});

describe('KeyWaiters: a poll delay past the 32-bit timer range', () => {
  it('a 35-day wait (waitPollMaxMs) does not end by itself after 1 ms', async () => {
    const waiters = new KeyWaiters();
    const wait = waiters.wait('k', PAST_TIMER_RANGE_MS);
    expect(await stillPendingAfter(wait.promise, 30)).toBe(true);
    waiters.wake('k');
    await wait.promise;
  });
});
