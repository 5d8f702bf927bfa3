import { describe, expect, it, vi } from 'vitest';
import { MemoryIdempotencyStore } from '../../../src/adapters/memory/memory-idempotency-store.js';
import type { IdempotencyStore } from '../../../src/contracts/idempotency.js';
import { ConnectionError, isScaleoutError } from '../../../src/errors.js';
import { Idempotency } from '../../../src/idempotency/idempotency.js';
import { idempotent } from '../../../src/idempotency/idempotent.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { fakeClock } from '../../helpers/clock.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('Idempotency.run', () => {
  it('runs once per key and replays the kept result, deserialized', async () => {
    const keys = new Idempotency();
    const fn = vi.fn(async () => ({ receipt: 'r-1', cents: 1250 }));
    const first = await keys.run('charge:1', fn);
    const second = await keys.run('charge:1', fn);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(await keys.run('charge:2', fn)).toEqual(first);
    expect(fn).toHaveBeenCalledTimes(2);
    await keys.close();
  });

  it('replays undefined, null, strings and numbers as they were', async () => {
    const keys = new Idempotency();
    for (const [i, value] of [undefined, null, 'text', 0, -1.5, false, [1, { a: 2 }]].entries()) {
      const fn = vi.fn(() => value);
      expect(await keys.run(`v${i}`, fn)).toEqual(value);
      expect(await keys.run(`v${i}`, fn)).toEqual(value);
      expect(fn).toHaveBeenCalledTimes(1);
    }
  });

  it('keeps nothing when fn throws: the error goes out and a retry runs again', async () => {
    const keys = new Idempotency();
    const released: string[] = [];
    keys.on('released', (e) => released.push(e.reason));
    let calls = 0;
    const fn = async () => {
      calls++;
      if (calls === 1) throw new Error('provider down');
      return 'ok';
    };
    await expect(keys.run('k', fn)).rejects.toThrow('provider down');
    expect(await keys.run('k', fn)).toBe('ok');
    expect(calls).toBe(2);
    expect(released).toEqual(['failed']);
  });

  it('refuses a repeat with another fingerprint (ERR_IDEMPOTENCY_MISMATCH), running nothing', async () => {
    const keys = new Idempotency();
    const fn = vi.fn(() => 'ok');
    await keys.run('refund:7', fn, { fingerprint: { orderId: 7, cents: 100 } });
    expect(await keys.run('refund:7', fn, { fingerprint: { cents: 100, orderId: 7 } })).toBe('ok');
    const err = await keys.run('refund:7', fn, { fingerprint: { orderId: 7, cents: 999 } }).catch((e) => e);
    expect(isScaleoutError(err, 'ERR_IDEMPOTENCY_MISMATCH')).toBe(true);
    expect(err.key).toBe('fn:refund:7');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a concurrent repeat waits for the first and gets its result', async () => {
    const keys = new Idempotency({ waitMs: 2_000 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fn = vi.fn(async () => {
      await gate;
      return 'done';
    });
    const first = keys.run('k', fn);
    await settle();
    const second = keys.run('k', fn);
    setTimeout(release, 30);
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a concurrent repeat is refused after waitMs (ERR_IDEMPOTENCY_CONFLICT, in-progress, retryAfterMs)', async () => {
    const keys = new Idempotency({ waitMs: 50, leaseMs: 10_000 });
    const conflicts: string[] = [];
    keys.on('conflict', (e) => conflicts.push(e.reason));
    const never = keys.run('k', () => new Promise(() => {}));
    void never;
    await settle();
    const err = await keys.run('k', () => 'x').catch((e) => e);
    expect(isScaleoutError(err, 'ERR_IDEMPOTENCY_CONFLICT')).toBe(true);
    expect(err.reason).toBe('in-progress');
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(conflicts).toEqual(['in-progress']);
  });

  it('waitMs 0 refuses a concurrent repeat at once', async () => {
    const keys = new Idempotency({ waitMs: 0 });
    void keys.run('k', () => new Promise(() => {}));
    await settle();
    await expect(keys.run('k', () => 1)).rejects.toMatchObject({ code: 'ERR_IDEMPOTENCY_CONFLICT' });
  });

  it('an abort signal ends the wait with ERR_ABORTED', async () => {
    const keys = new Idempotency({ waitMs: 10_000 });
    void keys.run('k', () => new Promise(() => {}));
    await settle();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(keys.run('k', () => 1, { signal: ac.signal })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });

  it('a crashed execution blocks its key only until its lease ends (fake clock)', async () => {
    const clock = fakeClock();
    const store = new MemoryIdempotencyStore({ clock });
    const keys = new Idempotency({ adapter: store, clock, leaseMs: 5_000, waitMs: 0 });
    // A claim whose owner died: nobody completes or releases it.
    await store.claim({ key: 'fn:k', owner: 'dead', fingerprint: '', leaseMs: 5_000 });
    await expect(keys.run('k', () => 1)).rejects.toMatchObject({ code: 'ERR_IDEMPOTENCY_CONFLICT' });
    clock.advance(5_001);
    expect(await keys.run('k', () => 2)).toBe(2);
  });

  it('forgets a result after ttlMs (fake clock), per call ttlMs included', async () => {
    const clock = fakeClock();
    const keys = new Idempotency({ adapter: new MemoryIdempotencyStore({ clock }), clock, ttlMs: 1_000 });
    const fn = vi.fn(() => 'x');
    await keys.run('a', fn);
    await keys.run('b', fn, { ttlMs: 10_000 });
    clock.advance(1_001);
    await keys.run('a', fn);
    await keys.run('b', fn);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('a result too large or not serializable is not kept: repeats are refused (not-kept), never run again', async () => {
    const keys = new Idempotency({ maxStoredBytes: 10 });
    const big = vi.fn(() => 'x'.repeat(100));
    expect(await keys.run('big', big)).toHaveLength(100);
    await expect(keys.run('big', big)).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENCY_CONFLICT',
      reason: 'not-kept',
    });
    const fnValue = vi.fn(() => () => 1);
    await keys.run('fn', fnValue);
    await expect(keys.run('fn', fnValue)).rejects.toMatchObject({ reason: 'not-kept' });
    expect(big).toHaveBeenCalledTimes(1);
    expect(fnValue).toHaveBeenCalledTimes(1);
  });

  it('retries storing the result through a store outage within the lease', async () => {
    const inner = new MemoryIdempotencyStore();
    let failures = 2;
    const store: IdempotencyStore = {
      claim: (r) => inner.claim(r),
      complete: async (r) => {
        if (failures-- > 0) throw new ConnectionError('redis down');
        return inner.complete(r);
      },
      release: (r) => inner.release(r),
      close: () => inner.close(),
    };
    const keys = new Idempotency({ adapter: store, leaseMs: 10_000 });
    const stored: string[] = [];
    keys.on('stored', (e) => stored.push(e.key));
    const fn = vi.fn(() => 'paid');
    expect(await keys.run('k', fn)).toBe('paid');
    expect(stored).toEqual(['fn:k']);
    expect(await keys.run('k', fn)).toBe('paid');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('reports a result it could not store (error event) but still returns it', async () => {
    const inner = new MemoryIdempotencyStore();
    const store: IdempotencyStore = {
      claim: (r) => inner.claim(r),
      complete: async () => {
        throw new ConnectionError('redis down');
      },
      release: (r) => inner.release(r),
      close: () => inner.close(),
    };
    const keys = new Idempotency({ adapter: store, leaseMs: 200 });
    const errors: string[] = [];
    keys.on('error', (e) => errors.push(e.operation));
    expect(await keys.run('k', () => 'paid')).toBe('paid');
    expect(errors).toEqual(['complete']);
  });

  it('emits replayed, stored and lost; off() stops delivery', async () => {
    const clock = fakeClock();
    const store = new MemoryIdempotencyStore({ clock });
    const keys = new Idempotency({ adapter: store, clock, leaseMs: 1_000 });
    const seen: string[] = [];
    const onReplay = () => seen.push('replayed');
    keys.on('replayed', onReplay);
    keys.on('stored', () => seen.push('stored'));
    keys.on('lost', () => seen.push('lost'));
    await keys.run('a', () => 1);
    await keys.run('a', () => 1);
    keys.off('replayed', onReplay);
    await keys.run('a', () => 1);
    // Outlives its lease while another execution takes the key.
    await keys.run('slow', async () => {
      clock.advance(1_001);
      await store.claim({ key: 'fn:slow', owner: 'other', fingerprint: '', leaseMs: 1_000 });
      return 1;
    });
    expect(seen).toEqual(['stored', 'replayed', 'lost']);
  });

  it('close() closes a store it created, not one it was given; run after close is ERR_CLOSED', async () => {
    const given = new MemoryIdempotencyStore();
    const close = vi.spyOn(given, 'close');
    const keys = new Idempotency({ adapter: given });
    await keys.close();
    await keys.close();
    expect(close).not.toHaveBeenCalled();
    await expect(keys.run('k', () => 1)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const own = new Idempotency();
    const ownClose = vi.spyOn(own.adapter, 'close');
    await own[Symbol.asyncDispose]();
    expect(ownClose).toHaveBeenCalledTimes(1);
  });

  it('two Idempotency objects on one adapter: closing either leaves the other working', async () => {
    const adapter = new MemoryIdempotencyStore();
    const a = new Idempotency({ adapter });
    const b = new Idempotency({ adapter });
    expect(await a.run('shared', () => 'first')).toBe('first');
    await a.close();
    expect(await b.run('shared', () => 'second')).toBe('first');
    expect(b.adapter).toBe(adapter);
    await b.close();
    expect(await new Idempotency({ adapter }).run('shared', () => 'third')).toBe('first');
    await adapter.close();
  });

  it('honours its logger and its clock (the default store runs on the same clock)', async () => {
    const clock = fakeClock();
    const warn = vi.fn();
    const keys = new Idempotency({ clock, logger: { warn }, ttlMs: 1_000 });
    const fn = vi.fn(() => 1);
    await keys.run('k', fn);
    await keys.run('k', fn);
    expect(fn).toHaveBeenCalledTimes(1);
    clock.advance(1_000);
    await keys.run('k', fn);
    expect(fn).toHaveBeenCalledTimes(2);
    await keys.run('not-serializable', () => 10n);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('not serializable'),
      expect.objectContaining({ key: 'fn:not-serializable' }),
    );
    await keys.close();
  });

  it('keeps run() keys apart from HTTP and queue keys (fn: namespace)', async () => {
    const store = new MemoryIdempotencyStore();
    const keys = new Idempotency({ adapter: store });
    await keys.run('http:abc', () => 1);
    expect((await store.claim({ key: 'http:abc', owner: 'o', fingerprint: '', leaseMs: 1_000 })).status).toBe(
      'claimed',
    );
  });
});

describe('idempotent()', () => {
  it('is run() as a function', async () => {
    const keys = new Idempotency();
    const fn = vi.fn(() => 'sent');
    expect(await idempotent('mail:1', fn, { idempotency: keys })).toBe('sent');
    expect(await idempotent('mail:1', fn, { idempotency: keys })).toBe('sent');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('refuses missing or unknown options with typed errors', async () => {
    await expect(idempotent('k', () => 1, undefined as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(idempotent('k', () => 1, { store: {} } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'idempotency',
    });
    await expect(idempotent('k', () => 1, 60_000 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttlMs',
    });
  });
});

describe('Idempotency options', () => {
  it('refuses unknown keys, bare numbers and bad values', () => {
    expect(() => new Idempotency({ ttl: 5 } as never)).toThrow(/did you mean "ttlMs"/);
    // `store` was the option's name before every primitive took `adapter`.
    expect(() => new Idempotency({ store: new MemoryIdempotencyStore() } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'store', suggestion: 'adapter' }),
    );
    expect(() => new Idempotency(86_400 as never)).toThrow(/pass \{ ttlMs/);
    expect(() => new Idempotency({ ttlMs: 0 })).toThrow(/ttlMs/);
    expect(() => new Idempotency({ waitMs: -1 })).toThrow(/waitMs/);
    expect(() => new Idempotency({ adapter: {} as never })).toThrow(/IdempotencyStore/);
    expect(() => new Idempotency({ maxStoredBytes: 1.5 })).toThrow(/maxStoredBytes/);
  });

  it('refuses bad run() arguments with typed errors', async () => {
    const keys = new Idempotency();
    await expect(keys.run('', () => 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(keys.run('k', 'fn' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(keys.run('k', () => 1, { fingerprint: new Map() })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(keys.run('k', () => 1, { ttl: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    expect(() => keys.on('nope' as never, () => {})).toThrow(/event must be one of/);
  });
});

describe('Idempotency.close with leaseMs past the 32-bit timer range', () => {
  it('a leaseMs of 35 days: close() waits for a result still being stored 35 days, not ~24.8', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const keys = new Idempotency({ leaseMs: PAST_TIMER_RANGE_MS });
      // What the middleware hands over: a result stored after the response went out, that hangs.
      keys.track(new Promise<void>(() => {}));
      let closed = false;
      void keys.close().then(() => (closed = true));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(closed).toBe(false);
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(closed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
