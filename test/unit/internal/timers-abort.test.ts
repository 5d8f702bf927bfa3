import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, TimeoutError } from '../../../src/errors.js';
import {
  anySignal,
  raceAbort,
  throwIfAborted,
  waitOrAbort,
  withTimeout,
} from '../../../src/internal/abort.js';
import { sleep, unrefInterval, unrefTimeout } from '../../../src/internal/timers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('timers', () => {
  it('unrefTimeout fires once and can be cancelled; its timer is unref-ed', () => {
    vi.useFakeTimers();
    const unref = vi.spyOn(globalThis, 'setTimeout');
    const fn = vi.fn();
    const handle = unrefTimeout(fn, 100);
    const timer = unref.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(1);
    const fn2 = vi.fn();
    unrefTimeout(fn2, 100).cancel();
    vi.advanceTimersByTime(200);
    expect(fn2).not.toHaveBeenCalled();
    handle.cancel();
  });

  it('unrefInterval repeats until cancelled', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const handle = unrefInterval(fn, 10);
    vi.advanceTimersByTime(35);
    expect(fn).toHaveBeenCalledTimes(3);
    handle.cancel();
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('sleep resolves after the delay', async () => {
    vi.useFakeTimers();
    let done = false;
    const p = sleep(50).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('sleep rejects with AbortedError on abort, carrying the reason, and leaves no timer', async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const p = sleep(10_000, { signal: ac.signal });
    const reason = new Error('shutting down');
    ac.abort(reason);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).cause).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sleep rejects at once with an already-aborted signal', async () => {
    await expect(sleep(1000, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('abort helpers', () => {
  it('throwIfAborted throws only when aborted', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort())).toThrow(AbortedError);
  });

  it('anySignal fires when any input fires and ignores undefined', () => {
    expect(anySignal(undefined, undefined).signal).toBeUndefined();
    const a = new AbortController();
    expect(anySignal(a.signal, undefined).signal).toBe(a.signal);
    const b = new AbortController();
    const combined = anySignal(a.signal, b.signal).signal!;
    expect(combined.aborted).toBe(false);
    b.abort('b');
    expect(combined.aborted).toBe(true);
    expect(combined.reason).toBe('b');
    expect(anySignal(a.signal, AbortSignal.abort('early')).signal!.reason).toBe('early');
  });

  it('anySignal keeps a timeout input alive until it fires', async () => {
    const long = new AbortController();
    const { signal } = anySignal(long.signal, AbortSignal.timeout(30));
    // Nothing else references the timeout signal: a weak combination could lose it here.
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 80));
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as Error).name).toBe('TimeoutError');
  });

  it('anySignal dispose detaches from long-lived inputs', () => {
    const shutdown = new AbortController();
    const remove = vi.spyOn(shutdown.signal, 'removeEventListener');
    const { signal, dispose } = anySignal(shutdown.signal, new AbortController().signal);
    dispose();
    expect(remove).toHaveBeenCalledTimes(1);
    shutdown.abort();
    expect(signal!.aborted).toBe(false);
  });

  it('raceAbort rejects on abort and removes its listener when the promise settles', async () => {
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    expect(await raceAbort(Promise.resolve(5), ac.signal)).toBe(5);
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);

    const never = new Promise<number>(() => {});
    const raced = raceAbort(never, ac.signal);
    ac.abort();
    await expect(raced).rejects.toBeInstanceOf(AbortedError);
  });

  it('raceAbort does not leave a late rejection unhandled', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      let reject!: (e: Error) => void;
      const inner = new Promise<number>((_, r) => (reject = r));
      const ac = new AbortController();
      const raced = raceAbort(inner, ac.signal);
      ac.abort();
      await expect(raced).rejects.toBeInstanceOf(AbortedError);
      reject(new Error('late'));
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('withTimeout rejects with TimeoutError and clears its timer when the promise wins', async () => {
    vi.useFakeTimers();
    const slow = new Promise<number>(() => {});
    const p = withTimeout(slow, 100, 'redis GET');
    const assertion = expect(p).rejects.toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    await assertion;
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(await withTimeout(Promise.resolve(1), 100)).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('withTimeout hands its error to onTimeout before rejecting, and never when the promise wins', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const seen: unknown[] = [];
    const p = withTimeout(new Promise<number>(() => {}), 50, 'cache loader', (error) => {
      seen.push(error);
      controller.abort(error);
    });
    const assertion = expect(p).rejects.toThrow('cache loader timed out after 50 ms');
    await vi.advanceTimersByTimeAsync(50);
    await assertion;
    expect(seen).toHaveLength(1);
    expect(controller.signal.reason).toBe(await p.catch((e: unknown) => e));
    const onTimeout = vi.fn();
    expect(await withTimeout(Promise.resolve(2), 50, 'x', onTimeout)).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(onTimeout).not.toHaveBeenCalled();
  });
});

describe('waitOrAbort (the deadline of a stop)', () => {
  const settled = async (p: Promise<void>) => {
    let done = false;
    void p.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    return done;
  };

  it('ends after ms and leaves no listener on the signal', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const wait = waitOrAbort(100, controller.signal);
    await vi.advanceTimersByTimeAsync(99);
    expect(await settled(wait.passed)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(wait.passed)).toBe(true);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('ends when the signal aborts, or at once when it already has, and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const wait = waitOrAbort(60_000, controller.signal);
    controller.abort();
    expect(await settled(wait.passed)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(await settled(waitOrAbort(60_000, AbortSignal.abort()).passed)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancel() clears both: it never ends, and a later abort finds no listener', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const wait = waitOrAbort(100, controller.signal);
    wait.cancel();
    expect(vi.getTimerCount()).toBe(0);
    controller.abort();
    await vi.advanceTimersByTimeAsync(200);
    expect(await settled(wait.passed)).toBe(false);
  });

  it('without a signal it is a timer', async () => {
    vi.useFakeTimers();
    const wait = waitOrAbort(10, undefined);
    await vi.advanceTimersByTimeAsync(10);
    expect(await settled(wait.passed)).toBe(true);
  });
});
