import { describe, expect, it, vi } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { ConnectionError, TimeoutError } from '../../../src/errors.js';
import { cacheFactory, eventually, FlakyAdapter, manualClock, tick } from './helpers.js';

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

describe('getOrSet: grace and timeouts', () => {
  it('serves stale within grace while one background refresh runs', async () => {
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    const stale: string[] = [];
    cache.on('stale', (e) => stale.push(e.reason));
    await cache.getOrSet('k', () => 'v1', { ttlMs: 1_000, graceMs: 60_000 });
    clock.t += 1_500;
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
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    await cache.getOrSet('k', () => 'v1', { ttlMs: 1_000, graceMs: 1_000 });
    clock.t += 2_001;
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 1_000, graceMs: 1_000 })).toBe('v2');
  });

  it('serves stale when the refreshing loader fails', async () => {
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0, graceMs: 60_000 });
    await cache.set('k', 'v1', { ttlMs: 1_000 });
    clock.t += 1_500;
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

describe('getOrSet: XFetch early refresh', () => {
  it('refreshes a hot key before expiry when the draw says so, in the background', async () => {
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
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
    clock.t += 9_900; // 100 ms before expiry: not yet
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 10_000 })).toBe('v1');
    await cache.settle();
    expect(refreshes).toEqual([false]);
    clock.t += 50; // 50 ms before expiry: inside the window
    expect(await cache.getOrSet('k', () => 'v2', { ttlMs: 10_000 })).toBe('v1');
    await cache.settle();
    expect(refreshes).toEqual([false, true]);
    expect(await cache.get('k')).toBe('v2');
  });

  it('never refreshes early with earlyRefreshBeta: 0', async () => {
    const clock = manualClock();
    const adapter = memoryCacheAdapter({ now: clock.now });
    const cache = make({ adapter, clock, earlyRefreshBeta: 0 });
    vi.spyOn(Math, 'random').mockReturnValue(1e-12);
    await cache.getOrSet('k', async () => {
      await tick(5);
      return 'v1';
    });
    clock.t += 299_000;
    let calls = 0;
    await cache.getOrSet('k', () => {
      calls++;
      return 'v2';
    });
    await cache.settle();
    expect(calls).toBe(0);
  });
});

describe('L1 invalidation across instances', () => {
  it('a set, delete or clear on one instance evicts the key from the other L1s', async () => {
    const adapter = memoryCacheAdapter();
    const a = make({ adapter });
    const b = make({ adapter });
    await Promise.all([a.ready(), b.ready()]);
    await a.set('k', 'v1');
    expect(await b.get('k')).toBe('v1'); // now in b's L1
    await a.set('k', 'v2');
    await eventually(async () => (await b.get('k')) === 'v2');
    await a.delete('k');
    await eventually(async () => (await b.get('k')) === undefined);
    await b.namespace('ns').set('x', 1);
    expect(await a.namespace('ns').get('x')).toBe(1);
    await b.namespace('ns').clear();
    await eventually(async () => (await a.namespace('ns').get('x')) === undefined);
  });

  it('flushes L1 when the bus reconnects', async () => {
    const adapter = memoryCacheAdapter();
    let reconnect: (() => void) | undefined;
    const subscribe = adapter.subscribe.bind(adapter);
    vi.spyOn(adapter, 'subscribe').mockImplementation((channel, options) => {
      reconnect = options.onReconnect;
      return subscribe(channel, options);
    });
    const cache = make({ adapter });
    await cache.ready();
    const flushes: string[] = [];
    cache.on('flush', (e) => flushes.push(e.reason));
    await cache.set('k', 'v1');
    await adapter.set('v:k', '"changed behind our back"'); // a missed invalidation
    expect(await cache.get('k')).toBe('v1');
    reconnect!();
    expect(flushes).toEqual(['bus-reconnect']);
    expect(await cache.get('k')).toBe('changed behind our back');
  });
});

describe('fail-open and the circuit', () => {
  it('keeps answering from L1 and the loader, drops writes with an event, and never throws', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, circuitThreshold: 3, circuitOpenMs: 100, graceMs: 60_000 });
    await cache.set('warm', 'from-l1');
    adapter.mode = 'fail';
    const errors: Array<{ op: string; dropped: boolean }> = [];
    cache.on('error', (e) => errors.push({ op: e.operation, dropped: e.dropped }));
    expect(await cache.get('warm')).toBe('from-l1');
    expect(await cache.get('cold')).toBeUndefined();
    await expect(cache.set('w', 1)).resolves.toBeUndefined();
    expect(errors).toContainEqual({ op: 'set', dropped: true });
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        cache.getOrSet('fresh', () => {
          calls++;
          return 'loaded';
        }),
      ),
    );
    expect(new Set(results)).toEqual(new Set(['loaded']));
    expect(calls).toBe(1);
    expect(cache.circuitState).toBe('open');
    // With the circuit open, calls skip the adapter entirely.
    const before = adapter.calls;
    await cache.get('cold');
    await cache.getOrSet('fresh', () => 'x');
    expect(adapter.calls).toBe(before);
    await expect(cache.increment('n')).rejects.toBeInstanceOf(ConnectionError);
  });

  it('opens on timeouts of a hanging backend, probes it back and closes', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, operationTimeoutMs: 30, circuitThreshold: 2, circuitOpenMs: 100 });
    const states: string[] = [];
    cache.on('circuit', (e) => states.push(e.state));
    adapter.mode = 'hang';
    expect(await cache.getOrSet('a', () => 'A')).toBe('A');
    expect(await cache.getOrSet('b', () => 'B')).toBe('B');
    expect(cache.circuitState).toBe('open');
    adapter.mode = 'up';
    await tick(150);
    expect(await cache.getOrSet('c', () => 'C')).toBe('C');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(await adapter.get('v:c')).toBeDefined();
  });

  it('a failed probe re-opens the circuit', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, circuitThreshold: 1, circuitOpenMs: 50 });
    adapter.mode = 'fail';
    await cache.get('x');
    await tick(80);
    await cache.get('x');
    expect(cache.circuitState).toBe('open');
  });

  it('with failOpen: false, callers get ConnectionError / TimeoutError', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, failOpen: false, operationTimeoutMs: 30, circuitThreshold: 100 });
    adapter.mode = 'fail';
    await expect(cache.get('k')).rejects.toBeInstanceOf(ConnectionError);
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(ConnectionError);
    await expect(cache.getOrSet('k', () => 1)).rejects.toBeInstanceOf(ConnectionError);
    adapter.mode = 'hang';
    await expect(cache.get('k')).rejects.toBeInstanceOf(TimeoutError);
  });

  it('error messages carry no connection details', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, failOpen: false });
    adapter.mode = 'fail';
    const err = await cache.get('k').catch((e: Error) => e);
    expect((err as Error).message).not.toContain('127.0.0.1');
  });
});
