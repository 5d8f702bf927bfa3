import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimitAdapter } from '../../../../src/adapters/memory/memory-rate-limit-adapter.js';
import type { RateLimitAlgorithm, RateLimitRule } from '../../../../src/contracts/rate-limit.js';
import { RATE_LIMIT_ALGORITHMS } from '../../../../src/rate-limit/algorithms.js';
import { RateLimiter } from '../../../../src/rate-limit/rate-limiter.js';
import { fakeClock } from '../../../helpers/clock.js';

const T0 = 1_700_000_000_000;
const ALGORITHMS: RateLimitAlgorithm[] = ['gcra', 'sliding-window', 'fixed-window'];

/** A limit and window whose product stays within the validated bound. */
const limitAndWindow = fc
  .tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 60_000 }))
  .filter(([limit, windowMs]) => limit * windowMs <= 2 ** 50);

describe('MemoryRateLimitAdapter: the one-limit hot path', () => {
  it('decides exactly as the pure algorithm, step by step (GCRA kept in place included)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALGORITHMS),
        limitAndWindow,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 4 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (algorithm, [limit, windowMs], steps) => {
          const clock = fakeClock(T0);
          const adapter = new MemoryRateLimitAdapter({ clock });
          const rule: RateLimitRule = Object.freeze({ limit, windowMs, algorithm });
          const fns = RATE_LIMIT_ALGORITHMS[algorithm];
          let state: unknown;
          let stateExpiresAt = 0;
          for (const [advanceMs, rawCost] of steps) {
            clock.advance(advanceMs);
            const now = clock.now();
            const cost = Math.min(rawCost, limit);
            const expected = fns.consume(
              stateExpiresAt > now ? state : undefined,
              now,
              limit,
              windowMs,
              cost,
            );
            if (expected.outcome.allowed) {
              state = expected.next;
              stateExpiresAt = now + expected.ttlMs;
            }
            const got = adapter.consumeRule('k', rule, cost);
            expect({ ...got }).toMatchObject({ ...expected.outcome });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a limiter's decisions stay as they were answered (no shared scratch leaks into them)", async () => {
    const limiter = new RateLimiter({ name: 'n', limits: { limit: 3, windowMs: 60_000 } });
    const first = await limiter.consume('a');
    const second = await limiter.consume('a');
    const other = await limiter.consume('b');
    expect([first.remaining, second.remaining, other.remaining]).toEqual([2, 1, 2]);
    expect(first.policies[0]!.remaining).toBe(2);
    const adapter = new MemoryRateLimitAdapter();
    const rules = [Object.freeze({ limit: 3, windowMs: 60_000, algorithm: 'gcra' as const })];
    const r1 = adapter.consumeNow({ key: 'a', rules, cost: 1 });
    const r2 = adapter.consumeNow({ key: 'a', rules, cost: 1 });
    expect([r1.rules[0]!.remaining, r2.rules[0]!.remaining]).toEqual([2, 1]);
    await limiter.close();
  });

  it("keys of a limiter's own memory adapter are its alone; a shared adapter's are namespaced", async () => {
    const shared = new MemoryRateLimitAdapter();
    const a = new RateLimiter({ adapter: shared, name: 'a', limits: { limit: 2, windowMs: 60_000 } });
    const b = new RateLimiter({ adapter: shared, name: 'b', limits: { limit: 2, windowMs: 60_000 } });
    await a.consume('k');
    await a.consume('k');
    expect((await a.consume('k')).allowed).toBe(false);
    expect((await b.consume('k')).allowed).toBe(true);
    const own = new RateLimiter({ name: 'c', limits: { limit: 1, windowMs: 60_000 } });
    expect((await own.consume('k')).allowed).toBe(true);
    expect((await own.consume('k')).allowed).toBe(false);
    await own.reset('k');
    expect((await own.consume('k')).allowed).toBe(true);
    // Still validated on the hot path: control characters, short keys and long ones.
    for (const bad of ['a\u0000b', '\u007f', `${'x'.repeat(100)}\u001f`, '', 'x'.repeat(1_025)]) {
      await expect(own.consume(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'key' });
    }
    // A refused key left nothing behind (a new key is checked before anything is stored for it).
    expect((own.adapter as MemoryRateLimitAdapter).size).toBe(1);
    expect((await own.consume(`${'x'.repeat(100)}é`)).allowed).toBe(true);
    await Promise.all([a.close(), b.close(), own.close()]);
  });
});

describe('MemoryRateLimitAdapter: the states of a key under several limits', () => {
  it('keeps each limit its own state through consumes, refunds that empty a limit, and resets', async () => {
    // A model per limit (the pure functions over one state each) against the adapter's
    // record, whose first limit lives in the record itself: a refund that empties the
    // first limit while another keeps state, then a consume that fills it again, etc.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('consume' as const), cost: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('refund' as const), cost: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('reset' as const), cost: fc.constant(0) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...ALGORITHMS), fc.integer({ min: 3, max: 8 })), {
          minLength: 2,
          maxLength: 3,
          selector: ([algorithm]) => algorithm,
        }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), op), { minLength: 1, maxLength: 40 }),
        async (limits, steps) => {
          const clock = fakeClock(T0);
          const adapter = new MemoryRateLimitAdapter({ clock });
          const rules: RateLimitRule[] = limits.map(([algorithm, limit], i) =>
            Object.freeze({ limit, windowMs: 1_000 * (i + 1), algorithm }),
          );
          const model = rules.map(() => ({ state: undefined as unknown, expiresAt: 0 }));
          const live = (i: number, now: number) => (model[i]!.expiresAt > now ? model[i]!.state : undefined);
          for (const [advanceMs, { kind, cost }] of steps) {
            clock.advance(advanceMs);
            const now = clock.now();
            if (kind === 'consume') {
              const steps = rules.map((r, i) =>
                RATE_LIMIT_ALGORITHMS[r.algorithm].consume(live(i, now), now, r.limit, r.windowMs, cost),
              );
              const allowed = steps.every((s) => s.outcome.allowed);
              if (allowed) {
                steps.forEach((s, i) => {
                  model[i] = { state: s.next, expiresAt: now + s.ttlMs };
                });
              }
              expect(adapter.consumeNow({ key: 'k', rules, cost }).allowed).toBe(allowed);
            } else if (kind === 'refund') {
              rules.forEach((r, i) => {
                const s = RATE_LIMIT_ALGORITHMS[r.algorithm].refund(
                  live(i, now),
                  now,
                  r.limit,
                  r.windowMs,
                  cost,
                );
                model[i] =
                  s.next === undefined
                    ? { state: undefined, expiresAt: 0 }
                    : { state: s.next, expiresAt: now + s.ttlMs };
              });
              await adapter.refund({ key: 'k', rules, cost });
            } else {
              model.forEach((_, i) => {
                model[i] = { state: undefined, expiresAt: 0 };
              });
              await adapter.reset({ key: 'k', rules });
            }
            const expected = rules.map((r, i) =>
              RATE_LIMIT_ALGORITHMS[r.algorithm].peek(live(i, now), now, r.limit, r.windowMs),
            );
            const got = adapter.peekNow({ key: 'k', rules });
            expect(got.rules.map((r) => [r.remaining, r.resetMs])).toEqual(
              expected.map((r) => [r.remaining, r.resetMs]),
            );
            // Each limit alone, in either order, reads the same state as the set does.
            for (const [i, r] of rules.entries()) {
              expect(adapter.peekNow({ key: 'k', rules: [r] }).rules[0]!.remaining).toBe(
                expected[i]!.remaining,
              );
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
