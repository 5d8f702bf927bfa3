import { describe, expect, it } from 'vitest';
import { TimeoutQueue } from '../../../src/internal/timeout-queue.js';
import { seededRandom } from '../../helpers/seeded-random.js';

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
});
