import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { TimeoutError } from '../../../src/errors.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { fakeClock } from '../../helpers/clock.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';
import { cacheFactory, tick } from './helpers.js';

const make = cacheFactory();

describe('loader runs: stale on failure, soft and hard timeouts', () => {
  it('serves stale when the refreshing loader fails', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0, graceMs: 60_000 });
    await cache.set('k', 'v1', { ttlMs: 1_000 });
    clock.advance(1_500);
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    expect(
      await cache.getOrSet('k', () => {
        throw new Error('boom');
      }),
    ).toBe('v1');
    await cache.settle();
    expect(errors).toContain('refresh');
    expect(await cache.getOrSet('k', () => 'v2')).toBe('v1');
    await cache.settle();
    expect(await cache.get('k')).toBe('v2');
  });

  it('soft timeout: the refreshing caller waits for a fast loader, and gets stale from a slow one', async () => {
    const adapter = memoryCacheAdapter();
    const reader = make({ adapter, l1: false });
    const cache = make({ adapter, earlyRefreshBeta: 0, softTimeoutMs: 100, graceMs: 60_000 });
    const stale: string[] = [];
    cache.on('stale', (e) => stale.push(e.reason));
    await cache.set('fast', 'old', { ttlMs: 1 });
    await cache.set('slow', 'old', { ttlMs: 1 });
    await tick(10);
    // A loader faster than the soft timeout: the caller gets the fresh value.
    expect(await cache.getOrSet('fast', () => 'new')).toBe('new');
    expect(stale).toEqual([]);
    // A slower one: the stale value after ~100 ms; the loader keeps running and stores its value.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let finished = false;
    const slow = async () => {
      await gate;
      finished = true;
      return 'new';
    };
    expect(await cache.getOrSet('slow', slow)).toBe('old');
    expect(finished).toBe(false); // answered while the loader was still running
    expect(stale).toEqual(['soft-timeout']);
    release();
    expect(await reader.get('slow')).toBeUndefined(); // still stale in the store
    await cache.settle();
    expect(await reader.get('slow')).toBe('new');
  });

  it('soft timeout: other callers get stale at once while one caller refreshes', async () => {
    const adapter = memoryCacheAdapter();
    const a = make({ adapter, earlyRefreshBeta: 0, softTimeoutMs: 5_000, graceMs: 60_000 });
    const b = make({ adapter, earlyRefreshBeta: 0, softTimeoutMs: 5_000, graceMs: 60_000 });
    await a.set('k', 'old', { ttlMs: 1 });
    await tick(10);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const loader = async () => {
      calls++;
      await gate;
      return 'new';
    };
    const refreshing = a.getOrSet('k', loader);
    await tick(20);
    expect(await b.getOrSet('k', loader)).toBe('old'); // the lock is held by a: no wait
    release();
    expect(await refreshing).toBe('new');
    expect(calls).toBe(1);
  });

  it('hard timeout fails with TimeoutError and aborts the loader signal when there is no stale value', async () => {
    const cache = make({ hardTimeoutMs: 50 });
    let aborted = false;
    const loader = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        setTimeout(() => resolve('late'), 500).unref();
      });
    await expect(cache.getOrSet('k', loader)).rejects.toBeInstanceOf(TimeoutError);
    expect(aborted).toBe(true);
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe('loader timeouts past the 32-bit timer range', () => {
  // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
  const fakeTimeouts = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a softTimeoutMs of 35 days serves stale at 35 days, not at ~24.8 (the longest node timer)', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({
      adapter,
      clock,
      earlyRefreshBeta: 0,
      softTimeoutMs: PAST_TIMER_RANGE_MS,
      hardTimeoutMs: 2 * PAST_TIMER_RANGE_MS,
      graceMs: 60_000,
    });
    const stale: string[] = [];
    cache.on('stale', (e) => stale.push(e.reason));
    await cache.set('k', 'old', { ttlMs: 1_000 });
    clock.advance(1_500);
    fakeTimeouts();
    let got: unknown;
    let finish!: (v: string) => void;
    void cache.getOrSet('k', () => new Promise<string>((r) => (finish = r))).then((v) => (got = v));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
    expect(got).toBeUndefined();
    expect(stale).toEqual([]);
    await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
    expect(got).toBe('old');
    expect(stale).toEqual(['soft-timeout']);
    finish('new'); // the load in the background ends, so close() need not wait for it
  });

  it('a hardTimeoutMs of 35 days fails the load at 35 days, not at ~24.8', async () => {
    const cache = make({ earlyRefreshBeta: 0, hardTimeoutMs: PAST_TIMER_RANGE_MS });
    fakeTimeouts();
    let outcome: unknown;
    void cache
      .getOrSet('k', () => new Promise<string>(() => {}))
      .then(
        (v) => (outcome = v),
        (err: unknown) => (outcome = err),
      );
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
    expect(outcome).toBeInstanceOf(TimeoutError);
  });
});
