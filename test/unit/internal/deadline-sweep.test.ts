import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isScaleoutError } from '../../../src/errors.js';
import { DeadlineSweep } from '../../../src/internal/deadline-sweep.js';

const never = () => new Promise<never>(() => {});

describe('DeadlineSweep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes through what settles in time, value or error, and then stops its interval', async () => {
    const sweep = new DeadlineSweep(100, 'lock');
    await expect(sweep.track(Promise.resolve(7), 'acquire')).resolves.toBe(7);
    const boom = new Error('boom');
    await expect(sweep.track(Promise.reject(boom), 'release')).rejects.toBe(boom);
    expect(vi.getTimerCount()).toBe(1);
    // The next sweep finds nothing in flight and stops the interval.
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a hanging call no earlier than timeoutMs, and at most one sweep period (a tenth) late', async () => {
    const sweep = new DeadlineSweep(100, 'lock');
    await vi.advanceTimersByTimeAsync(3);
    let outcome: unknown;
    sweep.track(never(), 'acquire').catch((err: unknown) => {
      outcome = err;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(11);
    expect(isScaleoutError(outcome, 'ERR_TIMEOUT')).toBe(true);
    expect((outcome as Error).message).toBe('lock acquire timed out after 100 ms');
    expect((outcome as { timeoutMs: number }).timeoutMs).toBe(100);
  });

  it('times out exactly the calls that hang, among calls that settle; a late answer is ignored, a late rejection never unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sweep = new DeadlineSweep(50, 'lock');
      const late: Array<(ok: boolean) => void> = [];
      const hanging = () =>
        new Promise<string>((resolve, reject) => {
          late.push((ok) => (ok ? resolve('late') : reject(new Error('late failure'))));
        });
      const calls = [hanging(), Promise.resolve('a'), hanging(), Promise.resolve('b')].map((p, i) =>
        sweep.track(p, `call-${i}`).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      );
      await vi.advanceTimersByTimeAsync(70);
      const results = await Promise.all(calls);
      expect(results.map((r) => ('value' in r ? r.value : (r.error as { code: string }).code))).toEqual([
        'ERR_TIMEOUT',
        'a',
        'ERR_TIMEOUT',
        'b',
      ]);
      late[0]!(true);
      late[1]!(false);
      vi.useRealTimers();
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stop() ends the interval; the next call starts it again', async () => {
    const sweep = new DeadlineSweep(5_000, 'lock');
    const pending = sweep.track(never(), 'extend');
    pending.catch(() => {});
    expect(vi.getTimerCount()).toBe(1);
    sweep.stop();
    expect(vi.getTimerCount()).toBe(0);
    const again = expect(sweep.track(never(), 'extend')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(vi.getTimerCount()).toBe(1);
    // Sweeps every 250 ms at most: past 5 s (+ one sweep) the call fails.
    await vi.advanceTimersByTimeAsync(5_250);
    await again;
  });
});
