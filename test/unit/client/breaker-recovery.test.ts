/** Fast return after an outage: the open time ends when the instance is back. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BreakerRecovery,
  type ConnectProbe,
  PROBE_HOLD_MS,
  type ProbeResult,
  type ProbeTimers,
} from '../../../src/client/breaker-recovery.js';
import type { CallState } from '../../../src/client/call-state.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { type Picked, UpstreamPicker } from '../../../src/client/upstream-picker.js';
import { CircuitOpenError } from '../../../src/errors.js';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { type FakeClock, fakeClock } from '../../helpers/clock.js';
import { until } from '../../helpers/wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(port = 0): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('{"ok":true}'));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
const close = (server: http.Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

describe('CircuitBreaker.probeNow', () => {
  it('ends the open time: the next call is a probe; does nothing unless open', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, openMs: 60_000 });
    breaker.probeNow();
    expect(breaker.state).toBe('closed');
    breaker.release(breaker.acquire(), 'failure');
    expect(breaker.state).toBe('open');
    expect(() => breaker.acquire()).toThrow(expect.objectContaining({ code: 'ERR_CIRCUIT_OPEN' }));
    breaker.probeNow();
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toBe('probe');
  });
});

describe('ServiceClient fast return', () => {
  it('a restarted base URL takes traffic again long before the open time ends (connect probe)', async () => {
    let server = await listen();
    const port = (server.address() as AddressInfo).port;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${port}` },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000, halfOpenProbes: 1 } },
    );
    cleanups.push(() => client.close());
    await expect(client.get('/')).resolves.toEqual({ ok: true });
    await close(server);
    for (let i = 0; i < 4; i++) await client.get('/').catch(() => {});
    expect(client.breakerState()).toBe('open');
    server = await listen(port);
    cleanups.push(() => close(server));
    // Without the probe the circuit stays open for 60 s.
    await until('the circuit to let calls through', () => client.breakerState() !== 'open', 5_000, 5);
    await expect(client.get('/')).resolves.toEqual({ ok: true });
    expect(client.breakerState()).toBe('closed');
  });

  it('sends no HTTP attempt while the circuit is open (the probe is a bare connect)', async () => {
    const server = await listen();
    const port = (server.address() as AddressInfo).port;
    let attempts = 0;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${port}` },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000 } },
    );
    cleanups.push(() => client.close());
    client.on('attempt', () => attempts++);
    await close(server);
    for (let i = 0; i < 2; i++) await client.get('/').catch(() => {});
    expect(client.breakerState()).toBe('open');
    const before = attempts;
    for (let i = 0; i < 50; i++) {
      await client.get('/').catch(() => {});
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(attempts).toBe(before);
  });
});

describe('BreakerRecovery', () => {
  it("ends the open time on the registry's announcement that the instance is back", () => {
    const listeners = new Map<string, (p: unknown) => void>();
    const registry = {
      on: (event: string, l: (p: unknown) => void) => {
        listeners.set(event, l);
        return () => listeners.delete(event);
      },
    };
    const probed: string[] = [];
    const recovery = new BreakerRecovery({ probeNow: (id) => probed.push(id), service: 'pricing' });
    recovery.follow(registry);
    listeners.get('change')!({ service: 'pricing', type: 'up', instance: { id: 'http://127.0.0.7:1/' } });
    listeners.get('change')!({ service: 'other', type: 'up', instance: { id: 'http://127.0.0.8:1/' } });
    listeners.get('change')!({ service: 'pricing', type: 'down', instance: { id: 'http://127.0.0.9:1/' } });
    listeners.get('health')!({ service: 'pricing', healthy: true, instance: { id: 'http://127.0.0.6:1/' } });
    expect(probed).toEqual(['http://127.0.0.7:1/', 'http://127.0.0.6:1/']);
    recovery.close();
    expect(listeners.size).toBe(0);
  });
});

describe('ServiceClient fast return through the registry', () => {
  it('an instance announced up again gets its open time ended at once (no connect needed)', async () => {
    const dead = await listen();
    const port = (dead.address() as AddressInfo).port;
    await close(dead); // nothing listens: the connect probe cannot bring it back
    const { ServiceRegistry } = await import('../../../src/registry/service-registry.js');
    const registry = new ServiceRegistry();
    cleanups.push(() => registry.close());
    const url = `http://127.0.0.1:${port}`;
    await registry.register('pricing', url);
    const client = new ServiceClient(
      { service: 'pricing', registry },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 60_000 } },
    );
    cleanups.push(() => client.close());
    for (let i = 0; i < 3; i++) await client.get('/').catch(() => {});
    const id = `${url}/`;
    expect(client.breakerState(id)).toBe('open');
    await registry.deregister('pricing', url);
    expect(client.breakerState(id)).toBe('open');
    await registry.register('pricing', url); // the restarted process registers again
    expect(client.breakerState(id)).toBe('half-open');
  });
});

/** Timers the fake clock drives: `tick(ms)` moves it, firing what falls due, in order. */
function clockTimers(clock: FakeClock) {
  interface Timer {
    at: number;
    fn: () => void;
  }
  const pending = new Set<Timer>();
  const timers: ProbeTimers = {
    set(fn, ms) {
      const timer = { at: clock.monotonic() + ms, fn };
      pending.add(timer);
      return timer;
    },
    clear(handle) {
      pending.delete(handle as Timer);
    },
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const tick = async (ms: number) => {
    const end = clock.monotonic() + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of pending) if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      pending.delete(next);
      clock.set(Math.max(clock.monotonic(), next.at));
      next.fn();
      await flush();
    }
    clock.set(end);
    await flush();
  };
  return { timers, tick, flush };
}

const ID = 'http://127.0.0.1:4001/';

/**
 * A connect probe on the fake clock that answers what `answer()` says when
 * it is called (`hang`: stays in flight), and logs when each connect started.
 */
function fakeConnect(clock: FakeClock, answer: () => ProbeResult | 'hang') {
  const connects: number[] = [];
  const connect: ConnectProbe = (_target, done) => {
    connects.push(clock.monotonic());
    const result = answer();
    if (result !== 'hang') queueMicrotask(() => done(result));
    return () => {};
  };
  return { connect, connects };
}

/**
 * A BreakerRecovery on the fake clock, its circuit just opened (by an
 * attempt with `outcome`), with a fake connect that answers as `net.answer`
 * says (`hang`: stays in flight) and logs when each connect started.
 */
function opened(outcome: string) {
  const clock = fakeClock(0);
  const { timers, tick, flush } = clockTimers(clock);
  const events: string[] = [];
  const net = { answer: 'refused' as ProbeResult | 'hang' };
  const { connect, connects } = fakeConnect(clock, () => net.answer);
  const recovery = new BreakerRecovery({
    service: 'pricing',
    clock,
    timers,
    connect,
    probeNow: () => events.push(`probeNow@${clock.monotonic()}`),
    extendOpen: () => events.push(`extendOpen@${clock.monotonic()}`),
  });
  recovery.onStateChange(
    ID,
    { from: 'closed', to: 'open', reason: 'consecutive-failures' },
    { url: ID, outcome },
  );
  cleanups.push(() => recovery.close());
  return { clock, tick, flush, connects, events, net, recovery };
}

/**
 * A BreakerRecovery on the fake clock whose connects the test answers by
 * hand (`answers`, oldest first), its circuit just opened by an attempt
 * that could not connect; `order` logs 'back' when it ends the open time.
 */
function answeredByHand() {
  const clock = fakeClock(0);
  const { timers, tick } = clockTimers(clock);
  const order: string[] = [];
  const answers: Array<(result: ProbeResult) => void> = [];
  const recovery = new BreakerRecovery({
    service: 'pricing',
    clock,
    timers,
    connect: (_target, done) => {
      answers.push(done);
      return () => {};
    },
    probeNow: () => order.push('back'),
    extendOpen: () => {},
  });
  cleanups.push(() => recovery.close());
  recovery.onStateChange(ID, { from: 'closed', to: 'open' }, { url: ID, outcome: 'connect-error' });
  return { timers, tick, order, answers, recovery };
}

describe('BreakerRecovery: the connect probe schedule (fake clock)', () => {
  it('connects at once when the circuit opens, then every 250 ms while no call waits, every 1 s after a minute', async () => {
    const { tick, connects } = opened('connect-error');
    await tick(1_000);
    expect(connects).toEqual([0, 250, 500, 750, 1_000]);
    await tick(59_000);
    expect(connects.length).toBe(241); // 4 per second for the first minute
    connects.length = 0;
    await tick(5_000);
    expect(connects.map((t) => t - 60_000)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
  });

  it('a refused connect keeps the circuit open (extendOpen); one that gets through after it ends the open time', async () => {
    const { tick, events, net } = opened('connect-error');
    await tick(600);
    expect(events).toEqual(['extendOpen@0', 'extendOpen@250', 'extendOpen@500']);
    net.answer = 'reached';
    await tick(400);
    expect(events.slice(3)).toEqual(['probeNow@750']);
  });

  it('a call that finds the circuit open waits for the next connect, brought forward to 5 ms after the last', async () => {
    const { tick, flush, connects, events, net, recovery } = opened('connect-error');
    await tick(1); // the first connect (at 0) was refused
    let settled = false;
    void recovery.nextVerdict(ID)!.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);
    await tick(3);
    expect(connects).toEqual([0]);
    net.answer = 'reached'; // back between two connects
    await tick(1);
    expect(connects).toEqual([0, 5]);
    expect(settled).toBe(true);
    expect(events).toEqual(['extendOpen@0', 'probeNow@5']);
  });

  it('a call long after the last connect gets one at once; calls at once share it', async () => {
    const { tick, flush, connects, recovery } = opened('connect-error');
    await tick(100);
    expect(connects).toEqual([0]);
    const verdicts = [recovery.nextVerdict(ID), recovery.nextVerdict(ID)];
    await tick(0);
    await flush();
    expect(connects).toEqual([0, 100]);
    await expect(Promise.all(verdicts)).resolves.toEqual([undefined, undefined]);
    await tick(250);
    expect(connects).toEqual([0, 100, 350]); // back on the idle schedule
  });

  it('a connect in flight for 25 ms releases its waiters; later calls wait out the turn only', async () => {
    const { tick, connects, net, recovery } = opened('connect-error');
    await tick(1);
    net.answer = 'hang';
    let released = false;
    void recovery.nextVerdict(ID)!.then(() => (released = true));
    await tick(5); // the connect at 5 hangs
    expect(connects).toEqual([0, 5]);
    await tick(23);
    expect(released).toBe(false);
    await tick(1);
    expect(released).toBe(true);
    let later = false;
    void recovery.nextVerdict(ID)!.then(() => (later = true));
    await tick(0);
    expect(later).toBe(true);
  });

  it('a connect that gets through in the turn its 25 ms run out is not overtaken: the waiting call is let through', async () => {
    const { timers, tick, order, answers, recovery } = answeredByHand();
    await tick(0);
    answers.shift()!('refused'); // the connect at 0
    await tick(10);
    void recovery.nextVerdict(ID)!.then(() => order.push('released'));
    await tick(0); // the next connect starts at 10 and stays in flight
    expect(answers.length).toBe(1);
    timers.set(() => answers.shift()!('reached'), PROBE_HOLD_MS); // due with the hold, queued behind it
    await tick(PROBE_HOLD_MS);
    expect(order).toEqual(['back', 'released']);
  });

  it('a call that finds a connect in flight past 25 ms waits out the turn: a verdict already in lets it through', async () => {
    const { timers, tick, order, answers, recovery } = answeredByHand();
    await tick(0);
    answers.shift()!('refused'); // the connect at 0
    await tick(250); // the idle connect at 250 stays in flight, no call waiting
    expect(answers.length).toBe(1);
    // 30 ms later (a busy event loop): the connect got through, its callback queued behind this call.
    await tick(30);
    timers.set(() => answers.shift()!('reached'), 0);
    const verdict = recovery.nextVerdict(ID);
    expect(verdict).toBeInstanceOf(Promise);
    void verdict!.then(() => order.push('released'));
    await tick(0);
    expect(order).toEqual(['back', 'released']);
  });

  it('edge-triggered: opened by 503s, a connect that gets through does not end the open time, and probing stops', async () => {
    const { tick, connects, events, net, recovery } = opened('server-error');
    net.answer = 'reached';
    expect(recovery.nextVerdict(ID)).toBeUndefined(); // nothing seen down yet: fail fast
    await tick(2_000);
    expect(connects).toEqual([0]);
    expect(events).toEqual([]);
  });

  it('a connect that fails otherwise (no such name, a timeout) marks it down but leaves the open time alone', async () => {
    const { tick, events, net } = opened('connect-error');
    net.answer = 'failed';
    await tick(600);
    expect(events).toEqual([]);
    net.answer = 'reached';
    await tick(250);
    expect(events).toEqual(['probeNow@750']);
  });

  it('opened by resets: the first refused connect marks it down, the next that gets through brings it back', async () => {
    const { tick, events, net } = opened('connection-reset');
    await tick(1);
    net.answer = 'reached';
    await tick(250);
    expect(events).toEqual(['extendOpen@0', 'probeNow@250']);
  });
});

describe('BreakerRecovery.check: a failed connect checked at once (fake clock)', () => {
  function checker(answer: ProbeResult | 'hang') {
    const clock = fakeClock(0);
    const { timers, tick } = clockTimers(clock);
    const tripped: number[] = [];
    const { connect, connects } = fakeConnect(clock, () => answer);
    const recovery = new BreakerRecovery({
      service: 'pricing',
      clock,
      timers,
      connect,
      probeNow: () => {},
      trip: () => tripped.push(clock.monotonic()),
    });
    cleanups.push(() => recovery.close());
    return { recovery, tick, connects, tripped };
  }

  it('refused: the circuit opens at once (trip); calls share the one connect', async () => {
    const { recovery, tick, connects, tripped } = checker('refused');
    const first = recovery.check(ID, ID);
    expect(recovery.check(ID, ID)).toBe(first);
    await tick(0);
    await expect(first).resolves.toBeUndefined();
    expect(connects).toEqual([0]);
    expect(tripped).toEqual([0]);
  });

  it('reached, or failed otherwise: nothing opens', async () => {
    for (const answer of ['reached', 'failed'] as const) {
      const { recovery, tick, tripped } = checker(answer);
      const verdict = recovery.check(ID, ID);
      await tick(0);
      await expect(verdict).resolves.toBeUndefined();
      expect(tripped).toEqual([]);
    }
  });

  it('a refusal that comes in the turn the 25 ms run out is not overtaken: the calls go on only after it', async () => {
    // A busy event loop runs due timers before the I/O callbacks of the same
    // turn: the hold's timer must not release the calls (to send an HTTP
    // attempt each, the circuit still closed) ahead of a verdict already in.
    const clock = fakeClock(0);
    const { timers, tick } = clockTimers(clock);
    const order: string[] = [];
    let answer: ((result: ProbeResult) => void) | undefined;
    const recovery = new BreakerRecovery({
      service: 'pricing',
      clock,
      timers,
      connect: (_target, done) => {
        answer = done;
        return () => {};
      },
      probeNow: () => {},
      trip: () => order.push('tripped'),
    });
    cleanups.push(() => recovery.close());
    void recovery.check(ID, ID)!.then(() => order.push('released'));
    timers.set(() => answer!('refused'), PROBE_HOLD_MS); // due with the hold, queued behind it
    await tick(PROBE_HOLD_MS);
    expect(order).toEqual(['tripped', 'released']);
  });

  it('a connect still in flight after 25 ms lets the calls go', async () => {
    const { recovery, tick } = checker('hang');
    let released = false;
    void recovery.check(ID, ID)!.then(() => (released = true));
    await tick(24);
    expect(released).toBe(false);
    await tick(1);
    expect(released).toBe(true);
  });
});

describe('UpstreamPicker: calls wait for a verdict rather than fail (fake clock)', () => {
  const fixed = { id: ID, url: ID };
  const state = {} as CallState;
  function picker(
    hold?: (id: string) => Promise<void> | undefined,
    check?: (id: string, url: string | undefined) => Promise<void> | undefined,
    consecutiveFailures = 1,
  ) {
    const changes: string[] = [];
    const p = new UpstreamPicker({
      service: 'pricing',
      fixed,
      source: undefined,
      breaker: { consecutiveFailures, halfOpenProbes: 1, openMs: 60_000 },
      clock: fakeClock(),
      logger: undefined,
      onStateChange: (_id, change, context) => changes.push(`${change.to}:${context.outcome}`),
      hold,
      check,
    });
    cleanups.push(() => p.close());
    if (check === undefined) p.release(p.pick(state) as Picked, 'connect-error');
    return { p, changes };
  }

  it('after an attempt that could not connect, calls wait for the check: refused, the circuit opens and they fail', async () => {
    const verdicts: Array<() => void> = [];
    const checked: string[] = [];
    const { p, changes } = picker(
      undefined,
      (id, url) => {
        checked.push(`${id} ${url}`);
        return new Promise<void>((resolve) => verdicts.push(resolve));
      },
      5,
    );
    const first = p.pick(state) as Picked;
    expect(first.permit).toBe('closed');
    p.release(first, 'server-error'); // an answer: no check
    expect(checked).toEqual([]);
    const second = p.pick(state) as Picked;
    p.release(second, 'connect-error');
    expect(checked).toEqual([`${ID} ${ID}`]);
    expect(p.breakerState()).toBe('closed'); // 2 failures of 5
    const waiting = p.pick(state);
    expect(waiting).toBeInstanceOf(Promise);
    p.trip(ID); // what the recovery does on a refused connect
    verdicts.shift()!();
    await expect(waiting).rejects.toBeInstanceOf(CircuitOpenError);
    expect(changes).toEqual(['open:connect-error']);
  });

  it('the check gets through: the waiting call goes on', async () => {
    const verdicts: Array<() => void> = [];
    const { p } = picker(undefined, () => new Promise<void>((resolve) => verdicts.push(resolve)), 5);
    p.release(p.pick(state) as Picked, 'connection-reset');
    const waiting = p.pick(state);
    expect(waiting).toBeInstanceOf(Promise);
    verdicts.shift()!();
    await expect(waiting).resolves.toMatchObject({ permit: 'closed' });
  });

  it('half-open because the instance is back: a call beyond the probe slots waits for the probe, then goes on', async () => {
    const { p, changes } = picker();
    expect(changes).toEqual(['open:connect-error']);
    p.probeNow(ID);
    const probe = p.pick(state) as Picked;
    expect(probe.permit).toBe('probe');
    const waiting = p.pick(state);
    expect(waiting).toBeInstanceOf(Promise);
    p.release(probe, 'success');
    await expect(waiting).resolves.toMatchObject({ permit: 'closed' });
    expect(changes).toEqual(['open:connect-error', 'half-open:undefined', 'closed:success']);
  });

  it('the probe fails: the waiting call fails with CircuitOpenError', async () => {
    const { p } = picker();
    p.probeNow(ID);
    const probe = p.pick(state) as Picked;
    const waiting = p.pick(state);
    p.release(probe, 'connect-error');
    await expect(waiting).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('an open circuit: the call waits for the connect verdict; back, it is a probe; refused, it fails', async () => {
    const verdicts: Array<() => void> = [];
    const { p } = picker(() => new Promise<void>((resolve) => verdicts.push(resolve)));
    const refused = p.pick(state);
    expect(refused).toBeInstanceOf(Promise);
    verdicts.shift()!();
    await expect(refused).rejects.toBeInstanceOf(CircuitOpenError);
    const back = p.pick(state);
    p.probeNow(ID); // what the recovery does before the verdict
    verdicts.shift()!();
    await expect(back).resolves.toMatchObject({ permit: 'probe' });
  });

  it('with no verdict to wait for (hold says no), an open circuit fails at once', () => {
    const { p } = picker(() => undefined);
    expect(() => p.pick(state)).toThrow(CircuitOpenError);
  });
});
