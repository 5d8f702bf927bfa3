import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RateLimitAlgorithm } from '../../../src/contracts/rate-limit.js';
import type { RateLimitAlgorithmFunctions } from '../../../src/rate-limit/algorithm.js';
import { RATE_LIMIT_ALGORITHMS } from '../../../src/rate-limit/algorithms.js';
import { gcraConsume, gcraPeek, gcraRefund } from '../../../src/rate-limit/gcra.js';

const T0 = 1_700_000_000_000;
const names = Object.keys(RATE_LIMIT_ALGORITHMS) as RateLimitAlgorithm[];

/** Runs consumes of `cost` at the given times on one key; returns each outcome. */
function run(
  fns: RateLimitAlgorithmFunctions<unknown>,
  limit: number,
  windowMs: number,
  times: number[],
  cost = 1,
) {
  let state: unknown;
  return times.map((now) => {
    const step = fns.consume(state, now, limit, windowMs, cost);
    if (step.outcome.allowed) state = step.next;
    return { now, ...step.outcome };
  });
}

/** A limit and window whose product stays within the validated bound. */
const limitAndWindow = fc
  .tuple(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 120_000 }))
  .filter(([limit, windowMs]) => limit * windowMs <= 2 ** 50);

describe('GCRA', () => {
  it('allows a burst of exactly `limit` at one instant, for every limit and window', () => {
    fc.assert(
      fc.property(limitAndWindow, ([limit, windowMs]) => {
        const outcomes = run(RATE_LIMIT_ALGORITHMS.gcra, limit, windowMs, Array(limit + 3).fill(T0));
        expect(outcomes.filter((o) => o.allowed)).toHaveLength(limit);
        expect(outcomes.slice(0, limit).every((o) => o.allowed)).toBe(true);
        expect(outcomes[limit - 1]!.remaining).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('37 per 10 s: the emission interval (270.27 ms) is not a whole ms, yet the burst is 37, never 38', () => {
    const outcomes = run(RATE_LIMIT_ALGORITHMS.gcra, 37, 10_000, Array(200).fill(T0));
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(37);
    expect(outcomes[37]!.retryAfterMs).toBe(271); // ceil(10_000 / 37)
    // Over a long run the rate is exactly 37 per 10 s: one request every 10000/37 ms.
    let state: unknown;
    let allowed = 0;
    for (let t = 0; t < 100_000; t++) {
      const step = gcraConsume(state as never, T0 + t, 37, 10_000, 1);
      if (step.outcome.allowed) {
        allowed++;
        state = step.next;
      }
    }
    // The burst, then the k-th more at ceil(k * 10000 / 37) ms: k = 1..369 within 99_999 ms.
    expect(allowed).toBe(37 + Math.floor((99_999 * 37) / 10_000));
  });

  it('never lets more than limit + floor(span * limit / window) through in any span', () => {
    fc.assert(
      fc.property(
        limitAndWindow.filter(([l, w]) => l <= 50 && w <= 5_000),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }),
        ([limit, windowMs], gaps) => {
          let t = T0;
          const times = gaps.map((g) => (t += g));
          const allowedAt = run(RATE_LIMIT_ALGORITHMS.gcra, limit, windowMs, times)
            .filter((o) => o.allowed)
            .map((o) => o.now);
          for (let i = 0; i < allowedAt.length; i++) {
            for (let j = i; j < allowedAt.length; j++) {
              const span = allowedAt[j]! - allowedAt[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(limit + Math.floor((span * limit) / windowMs));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('peek reports what a consume of 1 would, without taking it; refund moves the TAT back, never past now', () => {
    const first = gcraConsume(undefined, T0, 4, 1_000, 3);
    expect(first.outcome).toMatchObject({ allowed: true, remaining: 1, resetMs: 750 });
    expect(gcraPeek(first.next, T0, 4, 1_000)).toEqual({
      allowed: true,
      remaining: 1,
      resetMs: 750,
      retryAfterMs: 0,
    });
    const refunded = gcraRefund(first.next, T0, 4, 1_000, 2);
    expect(gcraPeek(refunded.next, T0, 4, 1_000).remaining).toBe(3);
    expect(gcraRefund(first.next, T0, 4, 1_000, 10).next).toBeUndefined();
  });

  it('reads a TAT further ahead than the window (a clock step back) as an empty bucket, never as more', () => {
    const outcome = gcraPeek({ tat: T0 + 50_000, rem: 0 }, T0, 10, 1_000);
    expect(outcome).toMatchObject({ allowed: false, remaining: 0, resetMs: 1_000 });
  });
});

describe.each(names)('%s', (name) => {
  const fns = RATE_LIMIT_ALGORITHMS[name];

  it('a denied cost fits exactly retryAfterMs later, not a ms sooner', () => {
    fc.assert(
      fc.property(
        limitAndWindow.filter(([l, w]) => l <= 200 && w <= 60_000),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 200 }),
        ([limit, windowMs], gaps, rawCost) => {
          const cost = 1 + (rawCost % limit);
          let t = T0 + 7;
          let state: unknown;
          for (const gap of gaps) {
            t += gap;
            const step = fns.consume(state, t, limit, windowMs, cost);
            if (step.outcome.allowed) {
              state = step.next;
              continue;
            }
            const wait = step.outcome.retryAfterMs;
            expect(wait).toBeGreaterThan(0);
            expect(fns.consume(state, t + wait, limit, windowMs, cost).outcome.allowed).toBe(true);
            expect(fns.consume(state, t + wait - 1, limit, windowMs, cost).outcome.allowed).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('peek agrees with a consume of 1, and remaining counts what still fits at once', () => {
    fc.assert(
      fc.property(
        limitAndWindow.filter(([l, w]) => l <= 100 && w <= 10_000),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 60 }),
        ([limit, windowMs], gaps) => {
          let t = T0;
          let state: unknown;
          for (const gap of gaps) {
            t += gap;
            const peek = fns.peek(state, t, limit, windowMs);
            const consume = fns.consume(state, t, limit, windowMs, 1);
            expect(peek.allowed).toBe(consume.outcome.allowed);
            if (consume.outcome.allowed) expect(consume.outcome.remaining).toBe(peek.remaining - 1);
            else expect(peek.retryAfterMs).toBe(consume.outcome.retryAfterMs);
            // `remaining` more units fit now, one more does not.
            if (peek.remaining > 0) {
              expect(fns.consume(state, t, limit, windowMs, peek.remaining).outcome.allowed).toBe(true);
            }
            if (peek.remaining < limit) {
              expect(fns.consume(state, t, limit, windowMs, peek.remaining + 1).outcome.allowed).toBe(false);
            }
            if (consume.outcome.allowed) state = consume.next;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is full again resetMs after a consume, and stores its state exactly that long or longer', () => {
    fc.assert(
      fc.property(
        limitAndWindow.filter(([l, w]) => l <= 100 && w <= 10_000),
        fc.integer({ min: 1, max: 100 }),
        ([limit, windowMs], rawCost) => {
          const cost = 1 + (rawCost % limit);
          const step = fns.consume(undefined, T0 + 3, limit, windowMs, cost);
          expect(step.outcome.allowed).toBe(true);
          const later = T0 + 3 + step.outcome.resetMs;
          expect(fns.peek(step.next, later, limit, windowMs).remaining).toBe(limit);
          // Once the TTL has run out the state reads as no state at all.
          expect(fns.peek(step.next, T0 + 3 + step.ttlMs, limit, windowMs)).toEqual(
            fns.peek(undefined, T0 + 3 + step.ttlMs, limit, windowMs),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('encodes its state as text it decodes back, and refuses foreign text', () => {
    const step = fns.consume(undefined, T0 + 123, 10, 1_000, 3);
    const text = fns.encode(step.next);
    expect(fns.decode(text, 1_000, T0 + 123)).toEqual(step.next);
    // A lone number is GCRA's own form (a TAT in whole ms), junk for the windows.
    for (const junk of [
      ...(name === 'gcra' ? [] : ['1']),
      '',
      'x',
      '1:',
      '-1:2',
      '1:2:3:4',
      '1.5:2',
      ' 1:2',
      '1:2\n',
      '9999999999999999:1',
      '__proto__',
    ]) {
      expect(fns.decode(junk, 1_000, T0)).toBeUndefined();
    }
    // A state from further ahead than any write could leave is foreign; a nearer one (clock step back) is read.
    const ahead =
      name === 'gcra' ? `${T0 + 2_001}:0` : `${T0 + 2_000}:1${name === 'sliding-window' ? ':0' : ''}`;
    expect(fns.decode(ahead, 1_000, T0)).toBeUndefined();
    const near =
      name === 'gcra' ? `${T0 + 2_000}:0` : `${T0 + 1_000}:1${name === 'sliding-window' ? ':0' : ''}`;
    expect(fns.decode(near, 1_000, T0)).toBeDefined();
    if (name === 'gcra') {
      // A whole-ms TAT is stored as the number alone (Redis keeps it as an integer).
      expect(fns.encode({ tat: T0, rem: 0 })).toBe(String(T0));
      expect(fns.decode(String(T0), 1_000, T0)).toEqual({ tat: T0, rem: 0 });
    }
  });
});

describe('fixed window', () => {
  const fns = RATE_LIMIT_ALGORITHMS['fixed-window'];
  it('counts per window aligned to the epoch, and lets twice the limit through across a boundary', () => {
    const boundary = T0; // a multiple of 1_000
    const times = [...Array(10).fill(boundary - 1), ...Array(10).fill(boundary)];
    expect(run(fns, 10, 1_000, times).filter((o) => o.allowed)).toHaveLength(20);
  });
  it('refuses text whose window start is not aligned', () => {
    expect(fns.decode(`${T0 + 1}:3`, 1_000, T0)).toBeUndefined();
  });
});

describe('sliding window', () => {
  const fns = RATE_LIMIT_ALGORITHMS['sliding-window'];
  it('does not double the limit across a boundary', () => {
    const boundary = T0;
    const times = [...Array(10).fill(boundary - 1), ...Array(10).fill(boundary)];
    expect(run(fns, 10, 1_000, times).filter((o) => o.allowed)).toHaveLength(10);
  });
  it('never lets 2 x limit through in any span of one window (the documented worst case)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 10, max: 2_000 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 300 }),
        (limit, windowMs, gaps) => {
          let t = T0;
          const allowedAt = run(
            fns,
            limit,
            windowMs,
            gaps.map((g) => (t += g)),
          )
            .filter((o) => o.allowed)
            .map((o) => o.now);
          for (let i = 0, j = 0; j < allowedAt.length; j++) {
            while (allowedAt[j]! - allowedAt[i]! >= windowMs) i++;
            expect(j - i + 1).toBeLessThan(2 * limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('weighs the previous window by the time left in the current one', () => {
    const burst = run(fns, 10, 1_000, Array(10).fill(T0 - 1));
    expect(burst.every((o) => o.allowed)).toBe(true);
    let state: unknown = fns.consume(undefined, T0 - 1, 10, 1_000, 10).next;
    // 30% into the next window the previous 10 weigh 7: three more fit.
    const at = T0 + 300;
    expect(fns.peek(state, at, 10, 1_000).remaining).toBe(3);
    state = fns.consume(state, at, 10, 1_000, 3).next;
    expect(fns.peek(state, at, 10, 1_000).allowed).toBe(false);
  });
});
