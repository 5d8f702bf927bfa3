import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { DistributedSemaphore } from '../../../src/lock/distributed-semaphore.js';
import { installOtel } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());
afterEach(() => otel.exporter.reset());

describe('DistributedLock spans', () => {
  it('traces an acquire that waits, with how long and the fencing token', async () => {
    const locks = new DistributedLock({ ttlMs: 10_000 });
    const first = await locks.acquire('invoice:7', { waitMs: 1_000 });
    setTimeout(() => void locks.release(first), 30);
    const second = await locks.acquire('invoice:7', { waitMs: 2_000 });
    await locks.release(second);
    await locks.close();
    const spans = otel.spans().filter((s) => s.name === 'acquire lock');
    expect(spans).toHaveLength(2);
    const waited = spans[1]!;
    expect(waited.attributes).toMatchObject({
      'scaleout.lock.resource': 'invoice:7',
      'scaleout.lock.wait_limit_ms': 2_000,
      'scaleout.lock.fencing_token': second.fencingToken,
    });
    expect(waited.attributes['scaleout.lock.waited_ms']).toBeGreaterThanOrEqual(20);
    const m = await otel.metric('scaleout.lock.wait.duration');
    expect(m?.unit).toBe('s');
  });

  it('records an acquire that gave up as an error', async () => {
    const locks = new DistributedLock({ ttlMs: 10_000 });
    const held = await locks.acquire('r', { waitMs: 0 });
    await expect(locks.acquire('r', { waitMs: 20 })).rejects.toMatchObject({ code: 'ERR_LOCK_NOT_ACQUIRED' });
    await locks.release(held);
    await locks.close();
    const spans = otel.spans().filter((s) => s.name === 'acquire lock');
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes['error.type']).toBe('ERR_LOCK_NOT_ACQUIRED');
    expect(spans[0]!.attributes['scaleout.lock.fencing_token']).toBeUndefined();
  });

  it('makes no span for acquires that cannot wait (hot path)', async () => {
    const sem = new DistributedSemaphore({ limit: 2, ttlMs: 10_000 });
    const a = await sem.tryAcquire('s');
    const b = await sem.acquire('s', { waitMs: 0 });
    await sem.release(a!);
    await sem.release(b);
    await sem.close();
    expect(otel.spans()).toEqual([]);
  });

  it('refuses bad telemetry options with a typed error, and turns off with false', async () => {
    for (const bad of [{ tracerProvider: 3 }, { meterProvider: [] }, { tracer: {} }]) {
      expect(() => new DistributedLock(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
      );
    }
    const locks = new DistributedLock({ tracerProvider: false, meterProvider: false });
    await locks.release(await locks.acquire('off', { waitMs: 100 }));
    await locks.close();
    expect(otel.spans()).toEqual([]);
  });
});
