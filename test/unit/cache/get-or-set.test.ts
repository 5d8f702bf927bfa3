import { describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { fakeClock } from '../../helpers/clock.js';
import { cacheFactory, tick } from './helpers.js';

const make = cacheFactory();

describe('getOrSet: stampede protection', () => {
  it('runs the loader once for 200 concurrent callers in one instance', async () => {
    const cache = make();
    let calls = 0;
    const loader = async () => {
      calls++;
      await tick(20);
      return { n: 42 };
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => cache.getOrSet('cold', loader)));
    expect(calls).toBe(1);
    expect(results.every((r) => r.n === 42)).toBe(true);
    expect(await cache.getOrSet('cold', loader)).toEqual({ n: 42 });
    expect(calls).toBe(1);
  });

  it('runs the loader once across instances sharing an adapter; waiters are woken by the bus, not polling', async () => {
    const adapter = memoryCacheAdapter();
    const get = vi.spyOn(adapter, 'get');
    const lock = vi.spyOn(adapter, 'setIfAbsent');
    // Polling so slow that only a bus wake-up can finish within the test.
    const instances = Array.from({ length: 4 }, () =>
      make({ adapter, waitPollMinMs: 20_000, waitPollMaxMs: 20_000 }),
    );
    await Promise.all(instances.map((c) => c.ready()));
    let calls = 0;
    const loader = async () => {
      calls++;
      await tick(50);
      return 'value';
    };
    const started = Date.now();
    const results = await Promise.all(
      instances.flatMap((c) => Array.from({ length: 50 }, () => c.getOrSet('hot', loader))),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['value']));
    expect(Date.now() - started).toBeLessThan(15_000);
    // Per instance: one read, then a re-read after the lock (won or lost) and, for losers, one after the wake-up.
    expect(get.mock.calls.length).toBeLessThanOrEqual(4 * 3);
    // One lock attempt per instance: woken waiters read the value instead of contending again.
    expect(lock).toHaveBeenCalledTimes(4);
  });

  it('falls back to polling when no message arrives, and takes over a lock whose holder died', async () => {
    const adapter = memoryCacheAdapter();
    const cache = make({ adapter, lockTtlMs: 200, hardTimeoutMs: 200, waitPollMinMs: 20, waitPollMaxMs: 50 });
    // A crashed instance left its refresh lock behind.
    await adapter.setIfAbsent('l:orphan', 'dead-token', { ttlMs: 200 });
    let calls = 0;
    const value = await cache.getOrSet('orphan', () => {
      calls++;
      return 'recovered';
    });
    expect(value).toBe('recovered');
    expect(calls).toBe(1);
  });

  it('propagates a loader error to every waiter and caches nothing', async () => {
    const cache = make();
    let calls = 0;
    const loader = async () => {
      calls++;
      await tick(5);
      throw new Error('db down');
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.getOrSet('k', loader)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'db down')).toBe(
      true,
    );
    expect(calls).toBe(1);
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok');
  });
});

describe('getOrSet: grace', () => {
  it('serves stale within grace while one background refresh runs', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    const stale: string[] = [];
    cache.on('stale', (e) => stale.push(e.reason));
    await cache.getOrSet('k', () => 'v1', { ttlMs: 1_000, graceMs: 60_000 });
    clock.advance(1_500);
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const loader = async () => {
      calls++;
      await gate;
      return 'v2';
    };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => cache.getOrSet('k', loader, { ttlMs: 1_000, graceMs: 60_000 })),
    );
    expect(answers).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
    expect(stale[0]).toBe('grace');
    release();
    await cache.settle();
    expect(calls).toBe(1);
    expect(await cache.get('k')).toBe('v2');
  });

  it('past grace the value is gone and the loader runs in the foreground', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    await cache.getOrSet('k', () => 'v1', { ttlMs: 1_000, graceMs: 1_000 });
    clock.advance(2_001);
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 1_000, graceMs: 1_000 })).toBe('v2');
  });
});

describe('getOrSet: XFetch early refresh', () => {
  it('refreshes a hot key before expiry when the draw says so, in the background', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock, earlyRefreshBeta: 1 });
    const refreshes: boolean[] = [];
    cache.on('refresh', (e) => refreshes.push(e.early));
    clock.monotonic = (() => {
      let m = 0;
      return () => {
        m += 100; // every loader appears to take 100 ms
        return m;
      };
    })();
    await cache.getOrSet('k', () => 'v1', { ttlMs: 10_000 });
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // -ln(0.5) * 100 ms ≈ 69 ms of look-ahead
    clock.advance(9_900); // 100 ms before expiry: not yet
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 10_000 })).toBe('v1');
    await cache.settle();
    expect(refreshes).toEqual([false]);
    clock.advance(50); // 50 ms before expiry: inside the window
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 10_000 })).toBe('v1');
    await cache.settle();
    expect(refreshes).toEqual([false, true]);
    expect(await cache.get('k')).toBe('v2');
  });

  it('never refreshes early with earlyRefreshBeta: 0', async () => {
    const clock = fakeClock();
    const adapter = memoryCacheAdapter({ clock });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    vi.spyOn(Math, 'random').mockReturnValue(1e-12);
    await cache.getOrSet('k', async () => {
      await tick(5);
      return 'v1';
    });
    clock.advance(299_000);
    let calls = 0;
    await cache.getOrSet('k', () => {
      calls++;
      return 'v2';
    });
    await cache.settle();
    expect(calls).toBe(0);
  });
});
