import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitAdapter } from '../../../src/adapters/memory/memory-rate-limit-adapter.js';
import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitCostRequest,
  RateLimitRequest,
} from '../../../src/contracts/rate-limit.js';
import { ConnectionError, CorruptDataError, isScaleoutError } from '../../../src/errors.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import type { RateLimiterEvents } from '../../../src/rate-limit/rate-limiter-events.js';
import { fakeClock } from '../../helpers/clock.js';

const T0 = 1_700_000_000_000;

/** An adapter whose behaviour the test switches: healthy (memory), failing, hanging or corrupt. */
class SwitchableAdapter implements RateLimitAdapter {
  mode: 'ok' | 'down' | 'hang' | 'corrupt' | 'raw' = 'ok';
  calls = 0;
  closed = 0;
  readonly inner: MemoryRateLimitAdapter;
  constructor(clock = fakeClock(T0)) {
    this.inner = new MemoryRateLimitAdapter({ clock });
  }
  #gate<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.mode === 'down') return Promise.reject(new ConnectionError('redis rate limit consume failed'));
    if (this.mode === 'raw') return Promise.reject(new Error('socket hang up'));
    if (this.mode === 'hang') return new Promise<T>(() => {});
    if (this.mode === 'corrupt') return Promise.reject(new CorruptDataError('junk', { key: 'k' }));
    return fn();
  }
  consume(r: RateLimitCostRequest): Promise<RateLimitAdapterResult> {
    return this.#gate(() => this.inner.consume(r));
  }
  peek(r: RateLimitRequest): Promise<RateLimitAdapterResult> {
    return this.#gate(() => this.inner.peek(r));
  }
  refund(r: RateLimitCostRequest): Promise<void> {
    return this.#gate(() => this.inner.refund(r));
  }
  reset(r: RateLimitRequest): Promise<void> {
    return this.#gate(() => this.inner.reset(r));
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

function record<K extends keyof RateLimiterEvents>(limiter: RateLimiter, event: K): RateLimiterEvents[K][] {
  const seen: RateLimiterEvents[K][] = [];
  limiter.on(event, (payload) => seen.push(payload));
  return seen;
}

const limiters: RateLimiter[] = [];
function make(options: ConstructorParameters<typeof RateLimiter>[0]): RateLimiter {
  const limiter = new RateLimiter(options);
  limiters.push(limiter);
  return limiter;
}
afterEach(async () => {
  for (const l of limiters.splice(0)) await l.close();
});

describe('RateLimiter options', () => {
  const refusal = (options: unknown) => {
    try {
      new RateLimiter(options as never);
    } catch (err) {
      return err as { code: string; option?: string; suggestion?: string; message: string };
    }
    throw new Error('accepted');
  };

  it('refuses unknown keys, naming the option meant', () => {
    expect(refusal({ limits: { limit: 1, windowMs: 1 }, timeout: 5 })).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'timeout',
    });
    expect(refusal({ limit: 5, windowMs: 1_000 })).toMatchObject({ option: 'limit', suggestion: 'limits' });
    expect(refusal({ limits: { points: 5, duration: 1 } })).toMatchObject({
      option: 'points',
      suggestion: 'limit',
    });
    expect(refusal({ limits: { limit: 5, window: 1_000 } })).toMatchObject({ suggestion: 'windowMs' });
  });

  it('refuses a bare number where a limit goes, and saying how to write it', () => {
    const err = refusal({ limits: 100 });
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'limits.limit' });
    expect(err.message).toContain('pass { limit: 100, windowMs: <milliseconds> }');
    expect(refusal(5)).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(refusal({ limits: [{ limit: 1, windowMs: 1_000 }, 7] })).toMatchObject({
      option: 'limits[1].limit',
    });
  });

  it('refuses limits out of range, duplicates, bad algorithms and names', () => {
    for (const [options, option] of [
      [{}, 'limits'],
      [{ limits: [] }, 'limits'],
      [{ limits: { limit: 0, windowMs: 1_000 } }, 'limits.limit'],
      [{ limits: { limit: 1.5, windowMs: 1_000 } }, 'limits.limit'],
      [{ limits: { limit: 1, windowMs: 0 } }, 'limits.windowMs'],
      [{ limits: { limit: 2 ** 40, windowMs: 2 ** 20 } }, 'limits.limit'],
      [{ limits: { limit: 1, windowMs: 1_000, algorithm: 'leaky-bucket' } }, 'limits.algorithm'],
      [{ limits: { limit: 1, windowMs: 1_000, name: 'has space' } }, 'limits.name'],
      [{ limits: { limit: 1, windowMs: 1_000 }, name: 'a:b' }, 'name'],
      [
        {
          limits: [
            { limit: 1, windowMs: 1_000 },
            { limit: 5, windowMs: 1_000 },
          ],
        },
        'limits',
      ],
      [{ limits: { limit: 1, windowMs: 1_000 }, instances: 0 }, 'instances'],
      [{ limits: { limit: 1, windowMs: 1_000 }, failOpen: 'yes' }, 'failOpen'],
      [{ limits: { limit: 1, windowMs: 1_000 }, adapter: new Map() }, 'adapter'],
      [{ limits: { limit: 1, windowMs: 1_000 }, clock: {} }, 'clock'],
      [{ limits: { limit: 1, windowMs: 1_000 }, operationTimeoutMs: -1 }, 'operationTimeoutMs'],
    ] as const) {
      expect(refusal(options), JSON.stringify(options)).toMatchObject({
        code: 'ERR_INVALID_OPTIONS',
        option,
      });
    }
  });

  it('names policies after the limiter, with an index when there are several', () => {
    expect(make({ name: 'api', limits: { limit: 1, windowMs: 1_000 } }).policies.map((p) => p.name)).toEqual([
      'api',
    ]);
    const two = make({
      name: 'api',
      limits: [
        { limit: 10, windowMs: 1_000 },
        { limit: 100, windowMs: 60_000, algorithm: 'fixed-window', name: 'minute' },
      ],
    });
    expect(two.policies).toEqual([
      { name: 'api-0', limit: 10, windowMs: 1_000, algorithm: 'gcra' },
      { name: 'minute', limit: 100, windowMs: 60_000, algorithm: 'fixed-window' },
    ]);
  });

  it('on / off refuse an unknown event or a listener that is not a function', async () => {
    const limiter = new RateLimiter({ limits: { limit: 1, windowMs: 1_000 } });
    expect(() => limiter.on('deny' as never, () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'event' }),
    );
    expect(() => limiter.on('denied', 'log' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'listener' }),
    );
    expect(() => limiter.off('fallbacks' as never, () => {})).toThrow(/event must be one of/);
    const denied: string[] = [];
    limiter.on('denied', ({ key }) => denied.push(key));
    await limiter.consume('k');
    await limiter.consume('k');
    expect(denied).toEqual(['k']);
    await limiter.close();
  });
});

describe('RateLimiter on the memory adapter', () => {
  it('decides from the tightest limit, takes all or none, and emits denied', () => {
    const clock = fakeClock(T0);
    const limiter = make({
      clock,
      limits: [
        { limit: 5, windowMs: 1_000 },
        { limit: 3, windowMs: 60_000, algorithm: 'fixed-window' },
      ],
    });
    const denied = record(limiter, 'denied');
    return (async () => {
      const first = await limiter.consume('a');
      expect(first).toMatchObject({
        allowed: true,
        remaining: 2,
        limit: 3,
        retryAfterMs: 0,
        source: 'adapter',
      });
      await limiter.consume('a');
      await limiter.consume('a');
      const no = await limiter.consume('a');
      expect(no).toMatchObject({ allowed: false, remaining: 0, limit: 3, source: 'adapter' });
      expect(no.retryAfterMs).toBe(60_000 - (T0 % 60_000));
      expect(no.policies[0]).toMatchObject({ name: 'default-0', remaining: 2, retryAfterMs: 0 });
      expect(denied).toEqual([{ key: 'a', decision: no }]);
      expect((await limiter.peek('a')).policies.map((p) => p.remaining)).toEqual([2, 0]);
      await limiter.refund('a', 2);
      expect((await limiter.peek('a')).policies.map((p) => p.remaining)).toEqual([4, 2]);
      await limiter.reset('a');
      expect((await limiter.peek('a')).remaining).toBe(3);
    })();
  });

  it('validates keys and costs with typed errors, and namespaces keys by name', async () => {
    const adapter = new MemoryRateLimitAdapter();
    const limiter = make({ adapter, name: 'login', limits: { limit: 5, windowMs: 60_000 } });
    await limiter.consume('alice@example.com');
    const rules = [{ limit: 5, windowMs: 60_000, algorithm: 'gcra' as const }];
    expect((await adapter.peek({ key: 'login:alice@example.com', rules })).rules[0]!.remaining).toBe(4);
    for (const key of ['', 'a\nb', 'x'.repeat(1_025), 42, null, undefined, {}]) {
      await expect(limiter.consume(key as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'key',
      });
    }
    for (const cost of [0, -1, 1.5, 6, Number.NaN, '1']) {
      await expect(limiter.consume('k', { cost: cost as never })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'cost',
      });
    }
    await expect(limiter.consume('k', 3 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'cost',
    });
    await expect(limiter.consume('k', { weight: 2 } as never)).rejects.toMatchObject({ suggestion: 'cost' });
    await expect(limiter.refund('k', 0)).rejects.toMatchObject({ argument: 'cost' });
    await expect(limiter.consume('k', { signal: 'no' as never })).rejects.toMatchObject({
      argument: 'signal',
    });
    await expect(limiter.consume('k', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });

  it('closes idempotently, refuses calls after, and closes only an adapter it created', async () => {
    const given = new SwitchableAdapter();
    const limiter = new RateLimiter({ adapter: given, limits: { limit: 1, windowMs: 1_000 } });
    await Promise.all([limiter.close(), limiter.close()]);
    expect(given.closed).toBe(0);
    await expect(limiter.consume('k')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const own = new RateLimiter({ limits: { limit: 1, windowMs: 1_000 } });
    const ownClose = vi.spyOn(own.adapter, 'close');
    await own[Symbol.asyncDispose]();
    expect(ownClose).toHaveBeenCalledTimes(1);
  });
});

describe('RateLimiter when the adapter fails', () => {
  it('fails open to the insurance limiter at limit / instances, emits error and fallback, and probes its way back', async () => {
    const clock = fakeClock(T0);
    const adapter = new SwitchableAdapter(clock);
    const limiter = make({
      adapter,
      clock,
      limits: { limit: 40, windowMs: 60_000, algorithm: 'fixed-window' },
      instances: 4,
      probeIntervalMs: 1_000,
    });
    const errors = record(limiter, 'error');
    const fallbacks = record(limiter, 'fallback');
    const recovered = record(limiter, 'recovered');
    expect((await limiter.consume('k')).source).toBe('adapter');
    adapter.mode = 'down';
    const decisions = [];
    for (let i = 0; i < 12; i++) decisions.push(await limiter.consume('k'));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10); // floor(40 / 4)
    expect(decisions.every((d) => d.source === 'insurance' && d.limit === 10)).toBe(true);
    expect(limiter.degraded).toBe(true);
    expect(fallbacks).toHaveLength(1);
    expect(errors).toHaveLength(1); // the failure that switched; later calls do not wait on the adapter
    expect(isScaleoutError(errors[0]!.error, 'ERR_CONNECTION')).toBe(true);
    const callsWhileDown = adapter.calls;
    await limiter.consume('k');
    expect(adapter.calls).toBe(callsWhileDown); // no probe before probeIntervalMs
    clock.advance(1_000);
    await limiter.consume('k'); // sends a probe, which fails
    await new Promise((r) => setImmediate(r));
    expect(errors.at(-1)).toMatchObject({ operation: 'probe', key: 'k' });
    adapter.mode = 'ok';
    clock.advance(1_000);
    await limiter.consume('k'); // answered by insurance; its probe succeeds
    await new Promise((r) => setImmediate(r));
    expect(recovered).toEqual([{ downMs: 2_000 }]);
    expect(limiter.degraded).toBe(false);
    expect((await limiter.consume('k')).source).toBe('adapter');
  });

  it('treats a call slower than operationTimeoutMs as an outage (TimeoutError)', async () => {
    const adapter = new SwitchableAdapter(fakeClock(T0));
    adapter.mode = 'hang';
    const limiter = make({ adapter, limits: { limit: 5, windowMs: 1_000 }, operationTimeoutMs: 30 });
    const errors = record(limiter, 'error');
    const started = performance.now();
    const decision = await limiter.consume('k');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(decision).toMatchObject({ allowed: true, source: 'insurance' });
    expect(errors[0]!.error).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 30 });
  });

  it('with failOpen: false, rejects with typed errors and never falls back', async () => {
    const adapter = new SwitchableAdapter(fakeClock(T0));
    const limiter = make({
      adapter,
      limits: { limit: 5, windowMs: 1_000 },
      failOpen: false,
      operationTimeoutMs: 30,
    });
    const fallbacks = record(limiter, 'fallback');
    adapter.mode = 'down';
    await expect(limiter.consume('k')).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    adapter.mode = 'hang';
    await expect(limiter.peek('k')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    adapter.mode = 'raw';
    const raw = await limiter.consume('k').catch((e: unknown) => e);
    expect(raw).toMatchObject({ code: 'ERR_CONNECTION', message: 'rate limit consume failed' });
    expect((raw as Error).cause).toMatchObject({ message: 'socket hang up' });
    expect(fallbacks).toHaveLength(0);
    expect(limiter.degraded).toBe(false);
  });

  it('a data error is typed, reported, and switches nothing: other keys keep deciding on the adapter', async () => {
    const adapter = new SwitchableAdapter(fakeClock(T0));
    const limiter = make({ adapter, limits: { limit: 5, windowMs: 1_000 } });
    const errors = record(limiter, 'error');
    adapter.mode = 'corrupt';
    await expect(limiter.consume('bad')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
    expect(errors).toMatchObject([{ operation: 'consume', key: 'bad' }]);
    expect(limiter.degraded).toBe(false);
    adapter.mode = 'ok';
    expect((await limiter.consume('good')).source).toBe('adapter');
  });

  it('a refund while down goes to the insurance limiter; a reset rejects whatever failOpen says', async () => {
    const clock = fakeClock(T0);
    const adapter = new SwitchableAdapter(clock);
    const limiter = make({ adapter, clock, limits: { limit: 2, windowMs: 60_000 } });
    const errors = record(limiter, 'error');
    adapter.mode = 'down';
    await limiter.consume('k');
    await limiter.consume('k');
    expect((await limiter.consume('k')).allowed).toBe(false);
    await limiter.refund('k');
    expect((await limiter.consume('k')).allowed).toBe(true);
    await expect(limiter.reset('k')).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
    expect(errors.map((e) => e.operation)).toEqual(['consume', 'reset']);
  });

  it('an abort while waiting on the adapter rejects with AbortedError and does not fall back', async () => {
    const adapter = new SwitchableAdapter(fakeClock(T0));
    adapter.mode = 'hang';
    const limiter = make({ adapter, limits: { limit: 5, windowMs: 1_000 }, operationTimeoutMs: 5_000 });
    const controller = new AbortController();
    const pending = limiter.consume('k', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(limiter.degraded).toBe(false);
  });

  it("an aborted call's late outcome leaves no trace: no error or denied event, no fallback", async () => {
    const inner = new MemoryRateLimitAdapter({ clock: fakeClock(T0) });
    const pending: Array<{ resolve(r: RateLimitAdapterResult): void; reject(e: unknown): void }> = [];
    const adapter: RateLimitAdapter = {
      consume: () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
      peek: (r) => inner.peek(r),
      refund: (r) => inner.refund(r),
      reset: (r) => inner.reset(r),
      close: async () => {},
    };
    const limiter = make({ adapter, limits: { limit: 1, windowMs: 1_000 }, operationTimeoutMs: 5_000 });
    const errors = record(limiter, 'error');
    const denied = record(limiter, 'denied');
    const fallbacks = record(limiter, 'fallback');
    for (const settle of [
      (p: (typeof pending)[number]) => p.reject(new ConnectionError('redis rate limit consume failed')),
      (p: (typeof pending)[number]) =>
        p.resolve({ allowed: false, rules: [{ remaining: 0, resetMs: 900, retryAfterMs: 900 }] }),
    ]) {
      const controller = new AbortController();
      const call = limiter.consume('k', { signal: controller.signal });
      controller.abort();
      await expect(call).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      settle(pending.shift()!);
      await new Promise((r) => setImmediate(r));
    }
    expect([errors, denied, fallbacks]).toEqual([[], [], []]);
    expect(limiter.degraded).toBe(false);
    // The same outcomes without an abort are reported as ever.
    const down = limiter.consume('k', { signal: new AbortController().signal });
    pending.shift()!.reject(new ConnectionError('redis rate limit consume failed'));
    expect((await down).source).toBe('insurance');
    expect(errors).toHaveLength(1);
    expect(fallbacks).toHaveLength(1);
  });

  it('never writes to the console', async () => {
    const spies = (['log', 'warn', 'error', 'info', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const adapter = new SwitchableAdapter(fakeClock(T0));
    const limiter = make({ adapter, limits: { limit: 5, windowMs: 1_000 } });
    limiter.on('error', () => {
      throw new Error('a listener that throws');
    });
    adapter.mode = 'down';
    await limiter.consume('k');
    for (const spy of spies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });
});

describe('RateLimiter with an adapter that throws instead of rejecting', () => {
  it('turns the throw into a rejection or a fallback, for calls and for the background probe', async () => {
    const clock = fakeClock(T0);
    const adapter = new SwitchableAdapter(clock);
    const limiter = make({ adapter, clock, limits: { limit: 5, windowMs: 1_000 }, probeIntervalMs: 10 });
    const throwing = () => {
      throw new Error('sync failure');
    };
    adapter.consume = throwing as never;
    adapter.peek = throwing as never;
    expect((await limiter.consume('k')).source).toBe('insurance');
    clock.advance(10);
    // The probe runs on this call; its synchronous throw must not escape the call.
    await expect(limiter.consume('k')).resolves.toMatchObject({ source: 'insurance' });
    await new Promise((r) => setImmediate(r));
    expect(limiter.degraded).toBe(true);
  });
});

describe('limits given as a sparse array', () => {
  it('a hole is refused like an undefined limit (map() skipped it, then a TypeError)', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hostile input under test
    const limits = [, { limit: 5, windowMs: 1_000 }];
    expect(() => new RateLimiter({ limits: limits as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'limits[0]' }),
    );
  });
});
