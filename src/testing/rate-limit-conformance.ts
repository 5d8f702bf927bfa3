import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitAlgorithm,
  RateLimitRule,
} from '../contracts/rate-limit.js';
import { isScaleoutError } from '../errors.js';
import type { ConformanceOptions } from './test-api.js';

/**
 * Options of {@link rateLimitAdapterConformance}.
 *
 * @example
 * ```ts
 * const options: RateLimitConformanceOptions = { name: 'mine', test, create: () => myAdapter(), concurrency: 30 };
 * ```
 */
export interface RateLimitConformanceOptions extends ConformanceOptions<RateLimitAdapter> {
  /** Consumes sent at once in the concurrency tests. @default 60 */
  concurrency?: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const ALGORITHMS: readonly RateLimitAlgorithm[] = ['gcra', 'sliding-window', 'fixed-window'];

function rules(...list: Array<[number, number, RateLimitAlgorithm?]>): readonly RateLimitRule[] {
  return Object.freeze(
    list.map(([limit, windowMs, algorithm = 'gcra']) => Object.freeze({ limit, windowMs, algorithm })),
  );
}

function checkShape(result: RateLimitAdapterResult, ruleList: readonly RateLimitRule[]): void {
  assert.equal(typeof result.allowed, 'boolean');
  assert.equal(result.rules.length, ruleList.length);
  result.rules.forEach((state, i) => {
    const { limit, windowMs } = ruleList[i]!;
    for (const field of ['remaining', 'resetMs', 'retryAfterMs'] as const) {
      assert.ok(
        Number.isSafeInteger(state[field]) && state[field] >= 0,
        `${field} is a non-negative integer`,
      );
    }
    assert.ok(state.remaining <= limit, 'remaining <= limit');
    assert.ok(state.resetMs <= 2 * windowMs, 'resetMs <= two windows');
    assert.ok(state.retryAfterMs <= 2 * windowMs, 'retryAfterMs <= two windows');
  });
}

/**
 * The behaviour every {@link RateLimitAdapter} must show: exact limits
 * under concurrency for each algorithm, several limits taken all or none,
 * costs taken whole, peeks that take nothing, refunds bounded by a full
 * limit, resets, independent keys, and retry times that are honest (waiting
 * them out lets the cost through). Each test gets a fresh adapter from
 * `create`; the timed tests use windows of a few hundred ms.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryRateLimitAdapter } from 'scaleout';
 * import { rateLimitAdapterConformance } from 'scaleout/testing';
 *
 * rateLimitAdapterConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryRateLimitAdapter(),
 *   destroy: (adapter) => adapter.close(),
 * });
 * ```
 */
export function rateLimitAdapterConformance(options: RateLimitConformanceOptions): void {
  const { test } = options;
  const concurrency = options.concurrency ?? 60;
  const withAdapter = (fn: (adapter: RateLimitAdapter) => Promise<void>) => async () => {
    const adapter = await options.create();
    try {
      await fn(adapter);
    } finally {
      await options.destroy?.(adapter);
    }
  };
  const key = () => `key-${randomUUID()}`;

  test.describe(`RateLimitAdapter conformance: ${options.name}`, () => {
    test.it(
      'GCRA: a burst of exactly the limit, counting down, then a denial with a retry time',
      withAdapter(async (adapter) => {
        const r = rules([5, 10_000]);
        const k = key();
        for (let left = 4; left >= 0; left--) {
          const result = await adapter.consume({ key: k, rules: r, cost: 1 });
          checkShape(result, r);
          assert.equal(result.allowed, true);
          assert.equal(result.rules[0]!.remaining, left);
          assert.equal(result.rules[0]!.retryAfterMs, 0);
        }
        const denied = await adapter.consume({ key: k, rules: r, cost: 1 });
        checkShape(denied, r);
        assert.equal(denied.allowed, false);
        assert.equal(denied.rules[0]!.remaining, 0);
        // One unit frees up every 2_000 ms.
        assert.ok(denied.rules[0]!.retryAfterMs > 1_000 && denied.rules[0]!.retryAfterMs <= 2_000);
      }),
    );

    for (const algorithm of ALGORITHMS) {
      test.it(
        `${algorithm}: exactly the limit allowed out of ${concurrency} concurrent consumes`,
        withAdapter(async (adapter) => {
          const limit = Math.max(1, Math.floor(concurrency / 3));
          // A window of 10 min: the run cannot straddle a fixed window's boundary unless it starts in its last second.
          const r = rules([limit, 600_000, algorithm]);
          const k = key();
          const results = await Promise.all(
            Array.from({ length: concurrency }, () => adapter.consume({ key: k, rules: r, cost: 1 })),
          );
          const allowed = results.filter((x) => x.allowed).length;
          // A fixed window lets up to twice the limit through should the run straddle a boundary.
          if (algorithm === 'fixed-window') assert.ok(allowed >= limit && allowed <= 2 * limit);
          else assert.equal(allowed, limit);
          const remaining = results.filter((x) => x.allowed).map((x) => x.rules[0]!.remaining);
          if (allowed === limit) {
            assert.deepEqual(
              [...remaining].sort((a, b) => a - b),
              Array.from({ length: limit }, (_, i) => i),
            );
          }
        }),
      );
    }

    test.it(
      'several limits are taken all or none: a denial by one takes nothing from the others',
      withAdapter(async (adapter) => {
        const r = rules([10, 10_000, 'gcra'], [3, 600_000, 'fixed-window'], [20, 60_000, 'sliding-window']);
        const k = key();
        for (let i = 0; i < 3; i++)
          assert.equal((await adapter.consume({ key: k, rules: r, cost: 1 })).allowed, true);
        const denied = await adapter.consume({ key: k, rules: r, cost: 1 });
        checkShape(denied, r);
        assert.equal(denied.allowed, false);
        assert.equal(denied.rules[1]!.retryAfterMs > 0, true, 'the fixed window denied');
        assert.equal(denied.rules[0]!.retryAfterMs, 0, 'GCRA would have allowed');
        // The limits that would have allowed answer their state as it stays.
        assert.equal(denied.rules[0]!.remaining, 7);
        assert.equal(denied.rules[2]!.remaining, 17);
        const peek = await adapter.peek({ key: k, rules: r });
        assert.deepEqual(
          peek.rules.map((s) => s.remaining),
          [7, 0, 17],
        );
      }),
    );

    test.it(
      'a cost is taken whole or not at all',
      withAdapter(async (adapter) => {
        const r = rules([10, 60_000]);
        const k = key();
        assert.equal((await adapter.consume({ key: k, rules: r, cost: 7 })).rules[0]!.remaining, 3);
        const denied = await adapter.consume({ key: k, rules: r, cost: 4 });
        assert.equal(denied.allowed, false);
        assert.equal(denied.rules[0]!.remaining, 3);
        const last = await adapter.consume({ key: k, rules: r, cost: 3 });
        assert.equal(last.allowed, true);
        assert.equal(last.rules[0]!.remaining, 0);
      }),
    );

    test.it(
      'peek takes nothing and says whether one more unit would pass',
      withAdapter(async (adapter) => {
        const r = rules([2, 60_000, 'fixed-window']);
        const k = key();
        const empty = await adapter.peek({ key: k, rules: r });
        checkShape(empty, r);
        const { remaining, resetMs, retryAfterMs } = empty.rules[0]!;
        assert.deepEqual({ remaining, resetMs, retryAfterMs }, { remaining: 2, resetMs: 0, retryAfterMs: 0 });
        assert.equal(empty.allowed, true);
        await adapter.consume({ key: k, rules: r, cost: 2 });
        for (let i = 0; i < 3; i++) {
          const p = await adapter.peek({ key: k, rules: r });
          assert.equal(p.allowed, false);
          assert.equal(p.rules[0]!.remaining, 0);
          assert.ok(p.rules[0]!.retryAfterMs > 0);
        }
      }),
    );

    for (const algorithm of ALGORITHMS) {
      test.it(
        `${algorithm}: refund gives units back, never beyond a full limit`,
        withAdapter(async (adapter) => {
          const r = rules([10, 600_000, algorithm]);
          const k = key();
          await adapter.consume({ key: k, rules: r, cost: 6 });
          await adapter.refund({ key: k, rules: r, cost: 2 });
          assert.equal((await adapter.peek({ key: k, rules: r })).rules[0]!.remaining, 6);
          await adapter.refund({ key: k, rules: r, cost: 100 });
          assert.equal((await adapter.peek({ key: k, rules: r })).rules[0]!.remaining, 10);
          assert.equal((await adapter.consume({ key: k, rules: r, cost: 10 })).allowed, true);
          await adapter.refund({ key: key(), rules: r, cost: 1 }); // a key never used: a no-op
        }),
      );
    }

    test.it(
      'reset forgets the key under every rule; other keys and other rules keep their state',
      withAdapter(async (adapter) => {
        const r = rules([3, 60_000, 'gcra'], [3, 60_000, 'fixed-window']);
        const other = rules([3, 30_000]);
        const [a, b] = [key(), key()];
        await adapter.consume({ key: a, rules: r, cost: 3 });
        await adapter.consume({ key: b, rules: r, cost: 3 });
        await adapter.consume({ key: a, rules: other, cost: 2 });
        await adapter.reset({ key: a, rules: r });
        assert.deepEqual(
          (await adapter.peek({ key: a, rules: r })).rules.map((s) => s.remaining),
          [3, 3],
        );
        assert.deepEqual(
          (await adapter.peek({ key: b, rules: r })).rules.map((s) => s.remaining),
          [0, 0],
        );
        assert.equal((await adapter.peek({ key: a, rules: other })).rules[0]!.remaining, 1);
      }),
    );

    test.it(
      'keys that differ only in case, braces or length are independent',
      withAdapter(async (adapter) => {
        const r = rules([1, 60_000]);
        const base = key();
        const keys = [
          base,
          base.toUpperCase(),
          `{${base}}`,
          `${base}}`,
          `${base}:x`,
          `${base}${'y'.repeat(300)}`,
        ];
        for (const k of keys)
          assert.equal((await adapter.consume({ key: k, rules: r, cost: 1 })).allowed, true);
        for (const k of keys)
          assert.equal((await adapter.consume({ key: k, rules: r, cost: 1 })).allowed, false);
      }),
    );

    for (const algorithm of ALGORITHMS) {
      test.it(
        `${algorithm}: waiting out retryAfterMs lets the cost through`,
        withAdapter(async (adapter) => {
          const r = rules([3, 300, algorithm]);
          const k = key();
          let denied: RateLimitAdapterResult | undefined;
          for (let i = 0; i < 10 && denied === undefined; i++) {
            const result = await adapter.consume({ key: k, rules: r, cost: 1 });
            if (!result.allowed) denied = result;
          }
          assert.ok(denied !== undefined, 'the limit was reached');
          const wait = denied.rules[0]!.retryAfterMs;
          assert.ok(wait > 0 && wait <= 600);
          await delay(wait + 5);
          assert.equal((await adapter.consume({ key: k, rules: r, cost: 1 })).allowed, true);
        }),
      );
    }

    test.it(
      'the state of a key is gone (full again) once resetMs has passed',
      withAdapter(async (adapter) => {
        const r = rules([4, 200, 'gcra'], [4, 200, 'fixed-window'], [4, 200, 'sliding-window']);
        const k = key();
        const result = await adapter.consume({ key: k, rules: r, cost: 2 });
        assert.equal(result.allowed, true);
        await delay(Math.max(...result.rules.map((s) => s.resetMs)) + 5);
        assert.deepEqual(
          (await adapter.peek({ key: k, rules: r })).rules.map((s) => s.remaining),
          [4, 4, 4],
        );
      }),
    );

    test.it(
      'refuses malformed requests with InvalidArgumentError and takes nothing',
      withAdapter(async (adapter) => {
        const k = key();
        const bad: unknown[] = [
          { key: k, rules: rules([1, 1_000]), cost: 0 },
          { key: k, rules: rules([1, 1_000]), cost: 1.5 },
          { key: '', rules: rules([1, 1_000]), cost: 1 },
          { key: k, rules: [], cost: 1 },
          { key: k, rules: [{ limit: 0, windowMs: 1_000, algorithm: 'gcra' }], cost: 1 },
          { key: k, rules: [{ limit: 1, windowMs: 1_000, algorithm: 'leaky' }], cost: 1 },
          {
            key: k,
            rules: [
              { limit: 1, windowMs: 1_000, algorithm: 'gcra' },
              { limit: 2, windowMs: 1_000, algorithm: 'gcra' },
            ],
            cost: 1,
          },
        ];
        for (const request of bad) {
          await assert.rejects(adapter.consume(request as never), (err: unknown) =>
            isScaleoutError(err, 'ERR_INVALID_ARGUMENT'),
          );
        }
        assert.equal((await adapter.peek({ key: k, rules: rules([1, 1_000]) })).rules[0]!.remaining, 1);
        // A frozen array of rules that can still change: checked on every call, not once.
        const rule = { limit: 5, windowMs: 1_000, algorithm: 'gcra' };
        const frozen = Object.freeze([rule]) as never;
        await adapter.consume({ key: k, rules: frozen, cost: 1 });
        for (const [field, value] of [
          ['limit', Number.NaN],
          ['limit', -5],
          ['windowMs', 0],
          ['algorithm', 'nope'],
        ] as const) {
          const saved = rule[field];
          (rule as Record<string, unknown>)[field] = value;
          await assert.rejects(adapter.consume({ key: k, rules: frozen, cost: 1 }), (err: unknown) =>
            isScaleoutError(err, 'ERR_INVALID_ARGUMENT'),
          );
          (rule as Record<string, unknown>)[field] = saved;
        }
      }),
    );
  });
}
