import { describe, expect, it } from 'vitest';
import { CircuitOpenError, InvalidOptionsError } from '../../../src/errors.js';
import { CircuitBreaker, type CircuitStateChange } from '../../../src/resilience/circuit-breaker.js';
import { fakeClock } from '../../helpers/clock.js';

function failOnce(b: CircuitBreaker) {
  b.release(b.acquire(), 'failure');
}
function succeedOnce(b: CircuitBreaker) {
  b.release(b.acquire(), 'success');
}

describe('CircuitBreaker', () => {
  it('opens after consecutive failures and fails fast with CircuitOpenError', () => {
    const clock = fakeClock();
    const changes: CircuitStateChange[] = [];
    const b = new CircuitBreaker({ consecutiveFailures: 3, clock, onStateChange: (c) => changes.push(c) });
    failOnce(b);
    failOnce(b);
    succeedOnce(b); // a success resets the run
    failOnce(b);
    failOnce(b);
    expect(b.state).toBe('closed');
    failOnce(b);
    expect(b.state).toBe('open');
    expect(changes).toEqual([{ from: 'closed', to: 'open', reason: 'consecutive-failures' }]);
    clock.advance(999);
    const err = (() => {
      try {
        b.acquire();
      } catch (e) {
        return e;
      }
    })() as CircuitOpenError;
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err.code).toBe('ERR_CIRCUIT_OPEN');
    expect(err.retryAfterMs).toBe(1);
  });

  it('minimumRequests: Infinity turns the rate trigger off: consecutive failures only', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({
      consecutiveFailures: 3,
      minimumRequests: Number.POSITIVE_INFINITY,
      clock,
    });
    // 2 failures in every 3 calls: a 67% failure rate, never 3 in a row.
    for (let i = 0; i < 100; i++) {
      failOnce(b);
      failOnce(b);
      succeedOnce(b);
    }
    expect(b.state).toBe('closed');
    failOnce(b);
    failOnce(b);
    failOnce(b);
    expect(b.state).toBe('open');
    expect(() => new CircuitBreaker({ minimumRequests: Number.NEGATIVE_INFINITY })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new CircuitBreaker({ minimumRequests: Number.NaN })).toThrow(InvalidOptionsError);
  });

  it('opens on the failure rate of the sliding window once minimumRequests is reached', () => {
    const clock = fakeClock();
    const changes: CircuitStateChange[] = [];
    const b = new CircuitBreaker({
      consecutiveFailures: 100,
      failureRateThreshold: 0.5,
      minimumRequests: 10,
      windowMs: 10_000,
      clock,
      onStateChange: (c) => changes.push(c),
    });
    for (let i = 0; i < 4; i++) {
      failOnce(b);
      succeedOnce(b);
    }
    expect(b.state).toBe('closed'); // 8 calls: below the minimum
    succeedOnce(b);
    failOnce(b); // 10 calls, 5 failures = 50%
    expect(b.state).toBe('open');
    expect(changes).toEqual([{ from: 'closed', to: 'open', reason: 'failure-rate' }]);
  });

  it('forgets failures older than the window', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ consecutiveFailures: 100, minimumRequests: 4, windowMs: 1_000, clock });
    failOnce(b);
    failOnce(b);
    succeedOnce(b);
    clock.advance(1_500);
    failOnce(b);
    succeedOnce(b);
    succeedOnce(b);
    succeedOnce(b);
    expect(b.state).toBe('closed'); // 1 of 4 in the window
  });

  it('turns half-open after openMs without any timer, lets halfOpenProbes through, others fail fast', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 1_000, halfOpenProbes: 2, clock });
    failOnce(b);
    expect(b.state).toBe('open');
    clock.advance(999);
    expect(() => b.acquire()).toThrow(CircuitOpenError);
    clock.advance(1);
    expect(b.state).toBe('half-open');
    const p1 = b.acquire();
    const p2 = b.acquire();
    expect([p1, p2]).toEqual(['probe', 'probe']);
    expect(() => b.acquire()).toThrow(/probe slots/);
    b.release(p1, 'success');
    expect(b.state).toBe('half-open'); // needs 2 successes
    b.release(p2, 'success');
    expect(b.state).toBe('closed');
  });

  it('reopens when a probe fails, and a neutral probe frees its slot without a verdict', () => {
    const clock = fakeClock();
    const changes: CircuitStateChange[] = [];
    const b = new CircuitBreaker({
      consecutiveFailures: 1,
      openMs: 1_000,
      halfOpenProbes: 1,
      clock,
      onStateChange: (c) => changes.push(c),
    });
    failOnce(b);
    clock.advance(1_000);
    const probe = b.acquire();
    expect(() => b.acquire()).toThrow(CircuitOpenError);
    b.release(probe, 'neutral');
    expect(b.state).toBe('half-open');
    b.release(b.acquire(), 'failure');
    expect(b.state).toBe('open');
    expect(changes.map((c) => c.reason)).toEqual(['consecutive-failures', undefined, 'probe-failed']);
  });

  it('doubles the open time after each failed probe, up to maxOpenMs, and resets it on close', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({
      consecutiveFailures: 1,
      openMs: 100,
      maxOpenMs: 300,
      halfOpenProbes: 1,
      clock,
    });
    failOnce(b);
    const openFor: number[] = [];
    for (let i = 0; i < 4; i++) {
      let waited = 0;
      while (b.state === 'open') {
        clock.advance(10);
        waited += 10;
      }
      openFor.push(waited);
      b.release(b.acquire(), 'failure');
    }
    expect(openFor).toEqual([100, 200, 300, 300]);
    clock.advance(300);
    b.release(b.acquire(), 'success');
    expect(b.state).toBe('closed');
    failOnce(b);
    clock.advance(100);
    expect(b.state).toBe('half-open');
    expect(() => new CircuitBreaker({ openMs: 500, maxOpenMs: 100 })).toThrow(InvalidOptionsError);
  });

  it('ignores results of calls that started while closed once it has opened', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 1_000, halfOpenProbes: 1, clock });
    const slow = b.acquire();
    failOnce(b);
    clock.advance(1_000);
    expect(b.state).toBe('half-open');
    b.release(slow, 'success'); // must not close it
    expect(b.state).toBe('half-open');
  });

  it('execute holds a probe slot until the call settles and treats aborts as neutral', async () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 10, halfOpenProbes: 1, clock });
    await expect(b.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    clock.advance(10);
    let finish!: () => void;
    const running = b.execute(() => new Promise<void>((r) => (finish = r)));
    await expect(b.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    finish();
    await running;
    expect(b.state).toBe('closed');
    const ac = new AbortController();
    ac.abort();
    await expect(b.execute(async () => 1, ac.signal)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('validates its options', () => {
    expect(() => new CircuitBreaker({ failureRateThreshold: 0 })).toThrow(InvalidOptionsError);
    expect(() => new CircuitBreaker({ consecutiveFailures: 0 })).toThrow(InvalidOptionsError);
    expect(() => new CircuitBreaker({ openMs: -1 })).toThrow(InvalidOptionsError);
  });
});

describe('CircuitBreaker.extendOpen', () => {
  it('restarts the open time, never past maxOpenMs after opening; nothing unless open', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ consecutiveFailures: 1, openMs: 1_000, maxOpenMs: 3_000, clock });
    b.extendOpen();
    expect(b.state).toBe('closed');
    failOnce(b);
    clock.advance(900);
    b.extendOpen(); // open until 1_900
    clock.advance(900);
    expect(b.state).toBe('open');
    expect(() => b.acquire()).toThrow(expect.objectContaining({ retryAfterMs: 100 }));
    for (let i = 0; i < 5; i++) {
      b.extendOpen();
      clock.advance(500);
    }
    // opened at 0: extended up to 3_000 at most, now 4_300
    expect(b.state).toBe('half-open');
    expect(b.acquire()).toBe('probe');
  });
});

describe('CircuitBreaker.trip', () => {
  it("opens a closed circuit now ('unreachable'); nothing otherwise", () => {
    const clock = fakeClock();
    const changes: CircuitStateChange[] = [];
    const b = new CircuitBreaker({ openMs: 1_000, clock, onStateChange: (c) => changes.push(c) });
    b.trip();
    expect(b.state).toBe('open');
    expect(() => b.acquire()).toThrow(CircuitOpenError);
    b.trip();
    clock.advance(1_000);
    expect(b.state).toBe('half-open');
    b.trip();
    expect(changes.map((c) => `${c.to}:${c.reason}`)).toEqual(['open:unreachable', 'half-open:undefined']);
  });
});
