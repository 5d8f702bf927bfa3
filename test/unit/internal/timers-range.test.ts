// Durations past node's 32-bit timer range (src/internal/timers.ts): node
// fires `setTimeout(fn, 2 ** 31)` after 1 ms, and vitest's fake timers do the
// same (checked first below), so a 35-day wait is played out on fake time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../../src/errors.js';
import { abortAfter, withTimeout } from '../../../src/internal/abort.js';
import { TimeoutQueue } from '../../../src/internal/timeout-queue.js';
import {
  longTimeout,
  MAX_TIMER_MS,
  sleep,
  type TimerHandle,
  unrefInterval,
  unrefTimeout,
} from '../../../src/internal/timers.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Just past the longest node timer (~24.8 days): where a capped timer would have fired. */
const PAST_CAP_MS = MAX_TIMER_MS + 1_000;

afterEach(() => {
  vi.useRealTimers();
});

/** A 35-day wait started by one of the helpers: `fired` once it fired, `cancel` to stop it. */
interface Started {
  fired: () => boolean;
  cancel: () => void;
}

const startedBy: Record<string, (ms: number) => Started> = {
  unrefTimeout: (ms) => {
    const fn = vi.fn();
    const handle = unrefTimeout(fn, ms);
    return { fired: () => fn.mock.calls.length > 0, cancel: () => handle.cancel() };
  },
  'longTimeout (ref)': (ms) => {
    const fn = vi.fn();
    const handle = longTimeout(fn, ms, { unref: false });
    return { fired: () => fn.mock.calls.length > 0, cancel: () => handle.cancel() };
  },
  sleep: (ms) => {
    let fired = false;
    const controller = new AbortController();
    sleep(ms, { signal: controller.signal, unref: true }).then(
      () => (fired = true),
      () => {},
    );
    return { fired: () => fired, cancel: () => controller.abort() };
  },
  'sleep (no signal)': (ms) => {
    let fired = false;
    void sleep(ms).then(() => (fired = true));
    return { fired: () => fired, cancel: () => {} };
  },
  abortAfter: (ms) => {
    const reason = new TimeoutError('late', { timeoutMs: ms });
    const deadline = abortAfter(ms, () => reason, { unref: true });
    // Fired means aborted with the reason given, nothing else.
    return { fired: () => deadline.controller.signal.reason === reason, cancel: () => deadline.cancel() };
  },
  'abortAfter (ref)': (ms) => {
    const deadline = abortAfter(ms, () => 'late');
    return { fired: () => deadline.controller.signal.aborted, cancel: () => deadline.cancel() };
  },
  withTimeout: (ms) => {
    let fired = false;
    let settle!: () => void;
    const work = new Promise<void>((resolve) => (settle = resolve));
    withTimeout(work, ms, 'x').catch((err: unknown) => {
      if (err instanceof TimeoutError) fired = true;
    });
    return { fired: () => fired, cancel: settle };
  },
};

describe("vitest's fake timers reproduce node's overflow", () => {
  it('a bare setTimeout / setInterval of 35 days fires after 1 ms', () => {
    vi.useFakeTimers();
    const timeout = vi.fn();
    const interval = vi.fn();
    const a = setTimeout(timeout, PAST_TIMER_RANGE_MS);
    const b = setInterval(interval, PAST_TIMER_RANGE_MS);
    vi.advanceTimersByTime(1);
    expect(timeout).toHaveBeenCalledTimes(1);
    expect(interval).toHaveBeenCalledTimes(1);
    clearTimeout(a);
    clearInterval(b);
  });
});

describe('the shared timer helpers wait the whole duration past the 32-bit range', () => {
  for (const [name, start] of Object.entries(startedBy)) {
    it(`${name}: 35 days have not fired at ~24.8 days + 1 s, and have at 35 days`, async () => {
      vi.useFakeTimers();
      const t = start(PAST_TIMER_RANGE_MS);
      await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
      expect(t.fired()).toBe(false);
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - PAST_CAP_MS - 1);
      expect(t.fired()).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(t.fired()).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });
  }

  for (const name of ['unrefTimeout', 'longTimeout (ref)', 'sleep', 'withTimeout', 'abortAfter']) {
    it(`${name}: cancelled in the first segment, it never fires`, async () => {
      vi.useFakeTimers();
      const t = startedBy[name]!(PAST_TIMER_RANGE_MS);
      await vi.advanceTimersByTimeAsync(DAY_MS);
      t.cancel();
      await vi.advanceTimersByTimeAsync(2 * PAST_TIMER_RANGE_MS);
      expect(t.fired()).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    });

    it(`${name}: cancelled in the second segment (past ~24.8 days), it never fires`, async () => {
      vi.useFakeTimers();
      const t = startedBy[name]!(PAST_TIMER_RANGE_MS);
      await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
      t.cancel();
      await vi.advanceTimersByTimeAsync(2 * PAST_TIMER_RANGE_MS);
      expect(t.fired()).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    });
  }

  it('a chain of at most ceil(ms / 2^31 - 1) node timers, each within the range', async () => {
    vi.useFakeTimers();
    const set = vi.spyOn(globalThis, 'setTimeout');
    const fn = vi.fn();
    const ms = 100 * DAY_MS;
    unrefTimeout(fn, ms);
    await vi.advanceTimersByTimeAsync(ms);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(set.mock.calls.length).toBe(Math.ceil(ms / MAX_TIMER_MS));
    for (const call of set.mock.calls) expect(call[1]).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(set.mock.calls.reduce((sum, call) => sum + (call[1] as number), 0)).toBe(ms);
  });

  it('every segment keeps the ref / unref of the timer', async () => {
    vi.useFakeTimers();
    const set = vi.spyOn(globalThis, 'setTimeout');
    const handles: TimerHandle[] = [unrefTimeout(() => {}, PAST_TIMER_RANGE_MS)];
    handles.push(longTimeout(() => {}, PAST_TIMER_RANGE_MS, { unref: false }));
    await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
    const timers = set.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(timers.map((t) => t.hasRef())).toEqual([false, true, false, true]);
    for (const h of handles) h.cancel();
  });

  it('sleep with a signal: an abort in the second segment clears the timer at once', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const slept = sleep(PAST_TIMER_RANGE_MS, { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    expect(vi.getTimerCount()).toBe(0);
    await expect(slept).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});

describe('unrefInterval past the 32-bit range', () => {
  it('a 30-day interval fires at 30 and 60 days, not at ~24.8', async () => {
    vi.useFakeTimers();
    const period = 30 * DAY_MS;
    const fn = vi.fn();
    const handle = unrefInterval(fn, period);
    await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(period - PAST_CAP_MS - 1);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(period - 1);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    handle.cancel();
    await vi.advanceTimersByTimeAsync(3 * period);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancelled in its second segment, or from its own callback, it stops', async () => {
    vi.useFakeTimers();
    const period = 30 * DAY_MS;
    const fn = vi.fn();
    const handle = unrefInterval(fn, period);
    await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
    handle.cancel();
    await vi.advanceTimersByTimeAsync(3 * period);
    expect(fn).not.toHaveBeenCalled();
    const self: { handle?: TimerHandle } = {};
    const once = vi.fn(() => self.handle?.cancel());
    self.handle = unrefInterval(once, period);
    await vi.advanceTimersByTimeAsync(3 * period);
    expect(once).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('TimeoutQueue past the 32-bit range (it re-checks due times)', () => {
  it('a 35-day entry has not fired at ~24.8 days + 1 s, and has at 35 days', async () => {
    vi.useFakeTimers();
    const q = new TimeoutQueue();
    const fn = vi.fn();
    q.add(PAST_TIMER_RANGE_MS, fn);
    await vi.advanceTimersByTimeAsync(PAST_CAP_MS);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - PAST_CAP_MS + 1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
