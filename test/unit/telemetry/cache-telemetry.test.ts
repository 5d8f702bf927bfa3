import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';
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
