import { describe, expect, it, vi } from 'vitest';
import { KeyWaiters } from '../../../src/cache/waiters.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

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
  it('a 35-day wait (waitPollMaxMs) ends by itself at 35 days, not at ~24.8 (the longest node timer)', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const waiters = new KeyWaiters();
      const wait = waiters.wait('k', PAST_TIMER_RANGE_MS);
      let ended = false;
      void wait.promise.then(() => (ended = true));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(ended).toBe(false);
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(ended).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
