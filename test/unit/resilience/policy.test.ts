/**
 * The resilience policies exported by scaleout refuse unknown option keys,
 * bare numbers where options go, and bad arguments, with typed errors.
 */
import { describe, expect, it } from 'vitest';
import { fullJitterBackoff } from '../../../src/resilience/backoff.js';
import { Bulkhead } from '../../../src/resilience/bulkhead.js';
import {
  CircuitBreaker,
  type CircuitPermit,
  type CircuitVerdict,
} from '../../../src/resilience/circuit-breaker.js';
import type { Policy } from '../../../src/resilience/policy.js';
import { RetryBudget } from '../../../src/resilience/retry-budget.js';
import { RetryPolicy } from '../../../src/resilience/retry-policy.js';
import { TimeoutPolicy } from '../../../src/resilience/timeout-policy.js';
import { wrap } from '../../../src/resilience/wrap.js';

async function failure(
  fn: () => unknown,
): Promise<{ code?: string; option?: string; suggestion?: string; argument?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as { code?: string };
  }
  throw new Error('expected a failure');
}

const constructors: Array<[string, (options: unknown) => unknown, string, Record<string, unknown>]> = [
  ['CircuitBreaker', (o) => new CircuitBreaker(o as never), 'consecutiveFailures', { failureThreshold: 5 }],
  ['Bulkhead', (o) => new Bulkhead(o as never), 'maxConcurrent', { concurrency: 4 }],
  ['RetryBudget', (o) => new RetryBudget(o as never), 'ratio', { percent: 10 }],
  ['RetryPolicy', (o) => new RetryPolicy(o as never), 'maxAttempts', { retries: 3 }],
  ['TimeoutPolicy', (o) => new TimeoutPolicy(o as never), 'timeoutMs', { timeout: 500 }],
  ['fullJitterBackoff', (o) => fullJitterBackoff(o as never), 'baseMs', { base: 50 }],
];

describe('policy options', () => {
  for (const [name, make, bare, unknown] of constructors) {
    it(`${name}: refuses an unknown key (with the key meant) and a bare number (naming ${bare})`, async () => {
      const err = await failure(() => make(unknown));
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: Object.keys(unknown)[0] });
      expect(err.suggestion).toBeDefined();
      expect(await failure(() => make(42))).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: bare });
      for (const junk of ['x', null, [], new Map(), true]) {
        expect((await failure(() => make(junk))).code, String(junk)).toBe('ERR_INVALID_OPTIONS');
      }
      expect(() => make(undefined)).not.toThrow();
      expect(() => make({})).not.toThrow();
    });
  }

  it('function options must be functions; clocks must be clocks', async () => {
    expect(await failure(() => new CircuitBreaker({ isFailure: 1 as never }))).toMatchObject({
      option: 'isFailure',
    });
    expect(await failure(() => new CircuitBreaker({ clock: {} as never }))).toMatchObject({
      option: 'clock',
    });
    expect(await failure(() => new RetryPolicy({ shouldRetry: 'yes' as never }))).toMatchObject({
      option: 'shouldRetry',
    });
    expect(await failure(() => new RetryBudget({ clock: { now: Date.now } as never }))).toMatchObject({
      option: 'clock',
    });
    expect(await failure(() => fullJitterBackoff({ random: 0.5 as never }))).toMatchObject({
      option: 'random',
    });
  });
});

describe('policy arguments', () => {
  const policies: Array<[string, Policy]> = [
    ['CircuitBreaker', new CircuitBreaker()],
    ['Bulkhead', new Bulkhead()],
    ['RetryPolicy', new RetryPolicy({ budget: false })],
    ['TimeoutPolicy', new TimeoutPolicy({ timeoutMs: 100 })],
    ['wrap', wrap(new Bulkhead(), new TimeoutPolicy({ timeoutMs: 100 }))],
  ];
  for (const [name, policy] of policies) {
    it(`${name}.execute refuses a non-function and a non-signal with typed rejections`, async () => {
      for (const fn of [undefined, 42, 'x', {}]) {
        const err = await failure(() => policy.execute(fn as never));
        expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'fn' });
      }
      for (const signal of [42, 'x', {}, { aborted: false }, null]) {
        const err = await failure(() => policy.execute(() => 1, signal as never));
        expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'signal' });
      }
      expect(await policy.execute(() => 7)).toBe(7);
    });
  }

  it('RetryPolicy.execute refuses a deadlineAt that is not a number', async () => {
    const retry = new RetryPolicy({ budget: false });
    for (const deadlineAt of [Number.NaN, '1' as never, {} as never]) {
      expect(await failure(() => retry.execute(() => 1, undefined, deadlineAt))).toMatchObject({
        argument: 'deadlineAt',
      });
    }
  });

  it('CircuitBreaker.release refuses what acquire() never hands out', async () => {
    const breaker = new CircuitBreaker();
    expect(await failure(() => breaker.release('open' as CircuitPermit, 'success'))).toMatchObject({
      argument: 'permit',
    });
    expect(await failure(() => breaker.release(breaker.acquire(), 'ok' as CircuitVerdict))).toMatchObject({
      argument: 'verdict',
    });
  });

  it('Bulkhead.acquire refuses a non-signal; wrap refuses a non-policy', async () => {
    expect(await failure(() => new Bulkhead().acquire(5 as never))).toMatchObject({ argument: 'signal' });
    expect(await failure(() => wrap(new Bulkhead(), {} as Policy))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      argument: 'policies[1]',
    });
  });
});
