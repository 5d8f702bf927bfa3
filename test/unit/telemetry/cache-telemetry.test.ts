import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryCacheAdapter } from '../../../src/adapters/memory/memory-cache-adapter.js';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';
import { ConnectionError } from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';
import { installOtel, parentOf } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());
afterEach(() => otel.exporter.reset());

const loads = () => otel.spans().filter((s) => s.name === 'load cache');

describe('DistributedCache spans', () => {
  it('traces a miss and its loader (the loader runs in the span), not a hit', async () => {
    const cache = new DistributedCache();
    let active: string | undefined;
    const loader = async () => {
      active = trace.getActiveSpan()?.spanContext().spanId;
      return { price: 7 };
    };
    await trace.getTracer('test').startActiveSpan('request', async (parent) => {
      expect(await cache.getOrSet('user:42', loader, { ttlMs: 60_000 })).toEqual({ price: 7 });
      expect(await cache.getOrSet('user:42', loader, { ttlMs: 60_000 })).toEqual({ price: 7 });
      parent.end();
    });
    await cache.close();
    const parent = otel.spans().find((s) => s.name === 'request')!;
    expect(loads()).toHaveLength(1);
    const load = loads()[0]!;
    expect(parentOf(load)).toBe(parent.spanContext().spanId);
    expect(load.attributes).toEqual({ 'scaleout.cache.load.kind': 'miss' });
    expect(active).toBe(load.spanContext().spanId);
    expect(JSON.stringify(load.attributes)).not.toContain('user:42');
    expect((await otel.metric('scaleout.cache.load.duration'))?.unit).toBe('s');
  });

  it('traces a background refresh and an early (XFetch) refresh, by kind', async () => {
    const clock = fakeClock();
    const cache = new DistributedCache({ clock });
    const loader = async () => {
      clock.advance(100); // the loader's duration, XFetch's delta
      return 1;
    };
    await cache.getOrSet('r', loader, { ttlMs: 1_000, graceMs: 60_000, earlyRefreshBeta: 0 });
    clock.advance(2_000);
    // Past the TTL, within grace: the stale value now, the refresh behind it.
    await cache.getOrSet('r', loader, { ttlMs: 1_000, graceMs: 60_000, earlyRefreshBeta: 0 });
    await expect.poll(() => loads().length).toBe(2);
    // Fresh, but with a huge beta XFetch refreshes it early.
    await cache.getOrSet('r', loader, { ttlMs: 1_000, earlyRefreshBeta: 1e9 });
    await expect.poll(() => loads().length).toBe(3);
    await cache.close();
    expect(loads().map((s) => s.attributes['scaleout.cache.load.kind'])).toEqual([
      'miss',
      'refresh',
      'early-refresh',
    ]);
  });

  it('records a failing loader as an error', async () => {
    const cache = new DistributedCache();
    await expect(
      cache.getOrSet(
        'k',
        async () => {
          throw Object.assign(new Error('db down'), { code: 'ECONNREFUSED' });
        },
        { ttlMs: 1_000 },
      ),
    ).rejects.toThrow('db down');
    await cache.close();
    expect(loads()[0]!.attributes['error.type']).toBe('ECONNREFUSED');
  });

  it('refuses bad telemetry options with a typed error, and turns off with false', async () => {
    for (const bad of [{ tracerProvider: 'x' }, { meterProvider: 1 }, { tracer: {} }]) {
      expect(() => new DistributedCache(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
      );
    }
    const cache = new DistributedCache({ tracerProvider: false });
    await cache.getOrSet('off', async () => 1, { ttlMs: 1_000 });
    await cache.close();
    expect(loads()).toEqual([]);
  });
});

describe('DistributedCache counters', () => {
  /** The sum of counter `name` now, over the points whose attributes include `where`. */
  async function count(name: string, where: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const p of await otel.points(name)) {
      if (Object.entries(where).every(([k, v]) => p.attributes[k] === v)) sum += p.value as number;
    }
    return sum;
  }

  async function counts(): Promise<number[]> {
    return [
      await count('scaleout.cache.hits', { 'scaleout.cache.tier': 'l1' }),
      await count('scaleout.cache.hits', { 'scaleout.cache.tier': 'l2' }),
      await count('scaleout.cache.misses'),
      await count('scaleout.cache.stale', { 'scaleout.cache.stale.reason': 'grace' }),
    ];
  }

  it('counts hits by tier, misses and stale values served by reason, without spans', async () => {
    const clock = fakeClock();
    const cache = new DistributedCache({ clock });
    const l2Only = new DistributedCache({ clock, l1: false, adapter: cache.adapter });
    const before = await counts();
    await cache.getOrSet('a', async () => 1, { ttlMs: 1_000, graceMs: 60_000 }); // miss
    await cache.getOrSet('a', async () => 1, { ttlMs: 1_000 }); // l1 hit
    expect(await cache.get('a')).toBe(1); // l1 hit
    expect(await l2Only.get('a')).toBe(1); // l2 hit
    expect(await cache.get('absent')).toBeUndefined(); // miss
    clock.advance(2_000);
    // Past the TTL, within grace: the stale value now, a refresh behind it.
    expect(await cache.getOrSet('a', async () => 2, { ttlMs: 1_000, graceMs: 60_000 })).toBe(1);
    const after = await counts();
    expect(after.map((n, i) => n - before[i]!)).toEqual([2, 1, 3, 1]);
    for (const name of ['scaleout.cache.hits', 'scaleout.cache.misses', 'scaleout.cache.stale']) {
      for (const p of await otel.points(name)) expect(JSON.stringify(p.attributes)).not.toContain('"a"');
    }
    await l2Only.close();
    await cache.close();
    // Only the loader runs are spans.
    expect(otel.spans().every((s) => s.name === 'load cache')).toBe(true);
  });

  it('counts getMany per key as get does: L1 and L2 hits by tier, misses', async () => {
    const clock = fakeClock();
    const cache = new DistributedCache({ clock });
    const l2Only = new DistributedCache({ clock, l1: false, adapter: cache.adapter });
    await cache.set('a', 1, { ttlMs: 60_000 });
    await cache.set('b', 2, { ttlMs: 60_000 });
    const before = await counts();
    // L1: a and b hit, c misses (then one adapter round trip: a miss there too).
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, 2, undefined]);
    // All in L1: no adapter call, two L1 hits.
    expect(await cache.getMany(['a', 'b'])).toEqual([1, 2]);
    // No L1: a and b from the adapter, c and d missing.
    expect(await l2Only.getMany(['a', 'c', 'b', 'd'])).toEqual([1, undefined, 2, undefined]);
    const after = await counts();
    expect(after.map((n, i) => n - before[i]!)).toEqual([4, 2, 3, 0]);
    await l2Only.close();
    await cache.close();
    expect(otel.spans()).toEqual([]);
  });

  it('counts the keys L1 did not answer as misses when the adapter is down', async () => {
    class Down extends MemoryCacheAdapter {
      override async getMany(): Promise<Array<string | undefined>> {
        throw new ConnectionError('adapter down');
      }
    }
    const cache = new DistributedCache({ adapter: new Down(), failOpen: true });
    cache.on('error', () => {});
    await cache.set('a', 1, { ttlMs: 60_000 });
    const before = await counts();
    expect(await cache.getMany(['a', 'x', 'y'])).toEqual([1, undefined, undefined]);
    const after = await counts();
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 0, 2, 0]);
    await cache.close();
  });

  it('counts nothing with meterProvider: false', async () => {
    const cache = new DistributedCache({ meterProvider: false });
    const before = await counts();
    await cache.getOrSet('b', async () => 1, { ttlMs: 1_000 });
    await cache.get('b');
    await cache.getMany(['b', 'none']);
    expect(await counts()).toEqual(before);
    await cache.close();
  });
});
