import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../../src/errors.js';
import { Lifecycle } from '../../../src/internal/lifecycle.js';

describe('Lifecycle', () => {
  it('runs the teardown once and gives every caller the same promise', async () => {
    const life = new Lifecycle('Thing');
    let runs = 0;
    let release!: () => void;
    const teardown = () =>
      new Promise<void>((resolve) => {
        runs++;
        release = resolve;
      });
    const first = life.close(teardown);
    const second = life.close(teardown);
    expect(second).toBe(first);
    expect(runs).toBe(1);
    expect(life.closed).toBe(true);
    release();
    await first;
    await life.close(teardown);
    expect(runs).toBe(1);
  });

  it('refuses use after close with ClosedError naming the object', async () => {
    const life = new Lifecycle('DistributedCache');
    expect(() => life.assertOpen()).not.toThrow();
    await life.close(() => {});
    expect(() => life.assertOpen()).toThrow(ClosedError);
    expect(() => life.assertOpen()).toThrow('DistributedCache is closed');
    expect(life.closedError().code).toBe('ERR_CLOSED');
  });

  it('passes a failing teardown to every caller', async () => {
    const life = new Lifecycle('Thing');
    const failure = new Error('teardown failed');
    await expect(life.close(() => Promise.reject(failure))).rejects.toBe(failure);
    await expect(life.close(() => {})).rejects.toBe(failure);
  });
});
