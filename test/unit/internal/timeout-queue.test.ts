import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { firstWakeMs, SHARED_TIMEOUTS, TimeoutQueue } from '../../../src/internal/timeout-queue.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { PAST_TIMER_RANGE_MS, watchTimerOverflow } from '../../helpers/timer-overflow.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TimeoutQueue', () => {
  it('fires each timeout once, in due order, never before it is due', async () => {
    const q = new TimeoutQueue();
    const fired: Array<{ name: string; late: number }> = [];
    const add = (name: string, ms: number) => {
      const start = performance.now();
      q.add(ms, () => fired.push({ name, late: performance.now() - start - ms }));
    };
    add('c', 60);
    add('a', 20);
    add('b', 40);
    add('a2', 20);
    await wait(150);
    expect(fired.map((f) => f.name)).toEqual(['a', 'a2', 'b', 'c']);
    for (const f of fired) expect(f.late).toBeGreaterThanOrEqual(-0.5);
    expect(q.size).toBe(0);
  });

  it('a cancelled timeout never fires; cancelling twice or after firing is a no-op', async () => {
    const q = new TimeoutQueue();
    const fired: string[] = [];
    const a = q.add(20, () => fired.push('a'));
    const b = q.add(30, () => fired.push('b'));
    q.cancel(a);
    q.cancel(a);
    expect(q.size).toBe(1);
    await wait(80);
    q.cancel(b);
    expect(fired).toEqual(['b']);
    expect(q.size).toBe(0);
  });

  it('an entry due earlier than the armed timer re-arms it', async () => {
    const q = new TimeoutQueue();
    const fired: string[] = [];
    q.add(5_000, () => fired.push('late'));
    q.add(10, () => fired.push('early'));
    await wait(60);
    expect(fired).toEqual(['early']);
    expect(q.size).toBe(1);
  });

  it('a throwing callback does not stop the others', async () => {
    const q = new TimeoutQueue();
    const fired: string[] = [];
    q.add(10, () => {
      throw new Error('boom');
    });
    q.add(10, () => fired.push('second'));
    await wait(50);
    expect(fired).toEqual(['second']);
  });

  it('random adds and cancels: exactly the uncancelled entries fire, in due order', async () => {
    const random = seededRandom(7);
    const q = new TimeoutQueue();
    const fired: number[] = [];
    const live = new Map<number, ReturnType<TimeoutQueue['add']>>();
    const expected: Array<{ id: number; dueAt: number }> = [];
    for (let id = 0; id < 400; id++) {
      const t = q.add(Math.floor(random() * 60), () => fired.push(id));
      live.set(id, t);
      expected.push({ id, dueAt: t.dueAt });
      if (random() < 0.4) {
        const victim = Math.floor(random() * (id + 1));
        const handle = live.get(victim);
        if (handle !== undefined) {
          q.cancel(handle);
          live.delete(victim);
        }
      }
    }
    await wait(200);
    const want = expected
      .filter((e) => live.has(e.id))
      .sort((x, y) => x.dueAt - y.dueAt || x.id - y.id)
      .map((e) => e.id);
    expect([...fired].sort((x, y) => x - y)).toEqual([...want].sort((x, y) => x - y));
    // Due order: each fired entry is due no later than the one fired after it.
    const dueOf = new Map(expected.map((e) => [e.id, e.dueAt]));
    for (let i = 1; i < fired.length; i++) {
      expect(dueOf.get(fired[i - 1]!)!).toBeLessThanOrEqual(dueOf.get(fired[i]!)!);
    }
    expect(q.size).toBe(0);
  });

  it('fires on time, never early, when Node timers fire late the longer they are', () => {
    // Node timers measured on the bench VM: ~0.7 ms late at 10 ms, ~22 ms late at 1.5 s.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const exact = globalThis.setTimeout;
    const late = ((fn: () => void, ms?: number) => exact(fn, (ms ?? 0) * 1.014 + 0.5)) as typeof setTimeout;
    globalThis.setTimeout = late;
    try {
      const q = new TimeoutQueue();
      const fired: Array<{ ms: number; dueAt: number; at: number }> = [];
      for (const ms of [1_500, 300, 40, 10, 5_000]) {
        const entry = q.add(ms, () => fired.push({ ms, dueAt: entry.dueAt, at: performance.now() }));
      }
      vi.advanceTimersByTime(6_000);
      expect(fired.map((f) => f.ms)).toEqual([10, 40, 300, 1_500, 5_000]);
      for (const f of fired) {
        expect(f.at).toBeGreaterThanOrEqual(f.dueAt);
        expect(f.at - f.dueAt).toBeLessThan(2);
      }
    } finally {
      globalThis.setTimeout = exact;
      vi.useRealTimers();
    }
  });

  it('arms short waits as they are and long ones early by 4% plus 2 ms, at most 100 ms', () => {
    expect(firstWakeMs(0.2)).toBe(1);
    expect(firstWakeMs(20)).toBe(20);
    expect(firstWakeMs(100)).toBe(94);
    expect(firstWakeMs(1_500)).toBe(1_438);
    expect(firstWakeMs(10_000)).toBe(9_900);
  });

  it('runs each callback in the async context of the call that added it, not of whoever armed the timer', async () => {
    const q = new TimeoutQueue();
    const als = new AsyncLocalStorage<string>();
    const seen: Array<[string, string | undefined]> = [];
    // A arms the Node timer (earliest); B and C only join the heap; D adds outside any context.
    for (const [name, ms] of [
      ['A', 10],
      ['B', 12],
      ['C', 14],
    ] as const) {
      als.run(name, () => q.add(ms, () => seen.push([name, als.getStore()])));
    }
    q.add(16, () => seen.push(['D', als.getStore()]));
    // A late re-arm (from inside a callback's turn) must not leak that context either.
    als.run('E', () => q.add(40, () => seen.push(['E', als.getStore()])));
    await wait(100);
    expect(seen).toEqual([
      ['A', 'A'],
      ['B', 'B'],
      ['C', 'C'],
      ['D', undefined],
      ['E', 'E'],
    ]);
  });

  it('what a callback schedules (a promise, setImmediate) stays in its context', async () => {
    const q = new TimeoutQueue();
    const als = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    for (const name of ['A', 'B', 'C']) {
      als.run(name, () =>
        q.add(5, () => {
          setImmediate(() => seen.push(`${name}:${als.getStore()}`));
          void Promise.resolve().then(() => seen.push(`${name}:${als.getStore()}`));
        }),
      );
    }
    await wait(60);
    expect(seen.sort()).toEqual(['A:A', 'A:A', 'B:B', 'B:B', 'C:C', 'C:C']);
  });

  it('SHARED_TIMEOUTS is one queue for every primitive: entries of any caller fire and cancel there', async () => {
    expect(SHARED_TIMEOUTS).toBeInstanceOf(TimeoutQueue);
    const fired: string[] = [];
    const before = SHARED_TIMEOUTS.size;
    SHARED_TIMEOUTS.add(5, () => fired.push('client'));
    const cancelled = SHARED_TIMEOUTS.add(5, () => fired.push('cancelled'));
    SHARED_TIMEOUTS.add(5, () => fired.push('cache'));
    SHARED_TIMEOUTS.cancel(cancelled);
    expect(SHARED_TIMEOUTS.size).toBe(before + 2);
    await wait(40);
    expect(fired.sort()).toEqual(['cache', 'client']);
  });
});

describe('TimeoutQueue: a timeout past the 32-bit timer range', () => {
  it('arms one timer of at most 2^31 - 1 ms (node would wake it every 1 ms, warning each time)', async () => {
    const q = new TimeoutQueue();
    const overflow = watchTimerOverflow();
    const fired = vi.fn();
    const timeout = q.add(PAST_TIMER_RANGE_MS, fired);
    await wait(30);
    overflow.stop();
    expect(fired).not.toHaveBeenCalled();
    expect(overflow.count).toBe(0);
    q.cancel(timeout);
  });
});
