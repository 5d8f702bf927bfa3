import { describe, expect, it } from 'vitest';
import { BulkheadFullError, InvalidOptionsError } from '../../../src/errors.js';
import { Bulkhead } from '../../../src/resilience/bulkhead.js';

describe('Bulkhead', () => {
  it('runs maxConcurrent at once, queues maxQueue in order, refuses the rest', async () => {
    const b = new Bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const gates: Array<() => void> = [];
    const order: number[] = [];
    const task = (n: number) =>
      b.execute(
        () =>
          new Promise<void>((resolve) => {
            order.push(n);
            gates.push(resolve);
          }),
      );
    const running = [task(1), task(2), task(3)];
    await expect(task(4)).rejects.toBeInstanceOf(BulkheadFullError);
    await Promise.resolve();
    expect(b.active).toBe(2);
    expect(b.queued).toBe(1);
    gates[0]!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2, 3]);
    expect(b.active).toBe(2);
    gates[1]!();
    gates[2]!();
    await Promise.all(running);
    expect(b.active).toBe(0);
  });

  it('a queued waiter whose signal fires leaves the queue at once', async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    let release!: () => void;
    const first = b.execute(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const waiting = b.execute(async () => 'never', ac.signal);
    expect(b.queued).toBe(1);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(b.queued).toBe(0);
    release();
    await first;
    expect(b.active).toBe(0);
  });

  it('frees the slot when the work throws', async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    await expect(b.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(b.execute(async () => 'ok')).resolves.toBe('ok');
  });

  it('validates its options', () => {
    expect(() => new Bulkhead({ maxConcurrent: 0 })).toThrow(InvalidOptionsError);
    expect(() => new Bulkhead({ maxQueue: -1 })).toThrow(InvalidOptionsError);
  });
});
