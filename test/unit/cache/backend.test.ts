import { describe, expect, it } from 'vitest';
import { ConnectionError, TimeoutError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { cacheFactory, FlakyAdapter, tick } from './helpers.js';

const make = cacheFactory();

describe('fail-open and the circuit', () => {
  it('keeps answering from L1 and the loader, drops writes with an event, and never throws', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, circuitThreshold: 3, circuitOpenMs: 100, graceMs: 60_000 });
    await cache.set('warm', 'from-l1');
    adapter.mode = 'fail';
    const errors: Array<{ op: string; dropped: boolean }> = [];
    cache.on('error', (e) => errors.push({ op: e.operation, dropped: e.dropped }));
    expect(await cache.get('warm')).toBe('from-l1');
    expect(await cache.get('cold')).toBeUndefined();
    await expect(cache.set('w', 1)).resolves.toBeUndefined();
    expect(errors).toContainEqual({ op: 'set', dropped: true });
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        cache.getOrSet('fresh', () => {
          calls++;
          return 'loaded';
        }),
      ),
    );
    expect(new Set(results)).toEqual(new Set(['loaded']));
    expect(calls).toBe(1);
    expect(cache.circuitState).toBe('open');
    // With the circuit open, calls skip the adapter entirely.
    const before = adapter.calls;
    await cache.get('cold');
    await cache.getOrSet('fresh', () => 'x');
    expect(adapter.calls).toBe(before);
    await expect(cache.increment('n')).rejects.toBeInstanceOf(ConnectionError);
  });

  it('opens on timeouts of a hanging backend, probes it back and closes', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, operationTimeoutMs: 30, circuitThreshold: 2, circuitOpenMs: 100 });
    const states: string[] = [];
    cache.on('circuit', (e) => states.push(e.state));
    adapter.mode = 'hang';
    expect(await cache.getOrSet('a', () => 'A')).toBe('A');
    expect(await cache.getOrSet('b', () => 'B')).toBe('B');
    expect(cache.circuitState).toBe('open');
    adapter.mode = 'up';
    await tick(150);
    expect(await cache.getOrSet('c', () => 'C')).toBe('C');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(await adapter.get('v:c')).toBeDefined();
  });

  it('a failed probe re-opens the circuit', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, circuitThreshold: 1, circuitOpenMs: 50 });
    adapter.mode = 'fail';
    await cache.get('x');
    await tick(80);
    await cache.get('x');
    expect(cache.circuitState).toBe('open');
  });

  it('with failOpen: false, callers get ConnectionError / TimeoutError', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, failOpen: false, operationTimeoutMs: 30, circuitThreshold: 100 });
    adapter.mode = 'fail';
    await expect(cache.get('k')).rejects.toBeInstanceOf(ConnectionError);
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(ConnectionError);
    await expect(cache.getOrSet('k', () => 1)).rejects.toBeInstanceOf(ConnectionError);
    adapter.mode = 'hang';
    await expect(cache.get('k')).rejects.toBeInstanceOf(TimeoutError);
  });

  it('error messages carry no connection details', async () => {
    const adapter = new FlakyAdapter();
    const cache = make({ adapter, failOpen: false });
    adapter.mode = 'fail';
    const err = await cache.get('k').catch((e: Error) => e);
    expect((err as Error).message).not.toContain('127.0.0.1');
  });

  it('keeps the circuit rules on the shared breaker: consecutive outages only, one probe, no back-off', async () => {
    const clock = fakeClock();
    const adapter = new FlakyAdapter(clock);
    const cache = make({ adapter, clock, circuitThreshold: 3, circuitOpenMs: 1_000 });
    const states: string[] = [];
    cache.on('circuit', (e) => states.push(e.state));
    await adapter.set('v:junk', 'not a counter');
    adapter.mode = 'fail';
    await cache.get('x');
    await cache.get('x');
    // A data error is an answer: it breaks the run of outages.
    adapter.mode = 'up';
    await expect(cache.increment('junk')).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
    adapter.mode = 'fail';
    await cache.get('x');
    await cache.get('x');
    expect(cache.circuitState).toBe('closed');
    await cache.get('x');
    expect(cache.circuitState).toBe('open');
    const calls = adapter.calls;
    clock.advance(999);
    await cache.get('x');
    expect(adapter.calls).toBe(calls); // still open: the adapter is not called
    clock.advance(1);
    await cache.get('x'); // the one probe, failing
    expect(adapter.calls).toBe(calls + 1);
    expect(cache.circuitState).toBe('open');
    clock.advance(1_000); // the same open time again, not doubled
    adapter.mode = 'up';
    expect(await cache.get('x')).toBeUndefined();
    expect(cache.circuitState).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});
