/**
 * The monitor's LatencyHistogram exports losslessly as an OpenTelemetry
 * exponential histogram: the same values recorded through the official SDK
 * (`@opentelemetry/sdk-metrics`, exponential aggregation, seconds) give the
 * same buckets, at scale 6 and at whatever lower scale the SDK settles on.
 */
import { AggregationType, type ExponentialHistogram, MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { toExponentialHistogram } from '../../../src/monitor/exponential-histogram.js';
import {
  HISTOGRAM_BUCKETS,
  HISTOGRAM_RELATIVE_ACCURACY,
  HISTOGRAM_SCALE,
  LatencyHistogram,
} from '../../../src/monitor/latency-histogram.js';
import { TestMetricReader } from '../../helpers/otel.js';
import { normal, seededRandom } from '../../helpers/seeded-random.js';

/** Records `valuesMs` (as seconds) into an SDK exponential histogram of at most `maxSize` buckets. */
async function sdkPoint(valuesMs: number[], maxSize: number): Promise<ExponentialHistogram> {
  const reader = new TestMetricReader();
  const provider = new MeterProvider({
    readers: [reader],
    views: [
      {
        instrumentName: 'd',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize } },
      },
    ],
  });
  const h = provider.getMeter('t').createHistogram('d', { unit: 's' });
  for (const v of valuesMs) h.record(v / 1000);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!.value as ExponentialHistogram;
}

/** Buckets `{ offset, counts }` merged down to `scale` (what an OTel SDK does to downscale). */
function downscale(b: { offset: number; bucketCounts: number[] }, from: number, to: number): number[][] {
  const out = new Map<number, number>();
  b.bucketCounts.forEach((c, k) => {
    if (c === 0) return;
    const j = Math.floor((b.offset + k) / 2 ** (from - to));
    out.set(j, (out.get(j) ?? 0) + c);
  });
  return [...out.entries()].sort((x, y) => x[0] - y[0]);
}

function draws(seed: number, n: number): number[] {
  const random = seededRandom(seed);
  // Latencies from 0.05 ms to about 20 s: lognormal around 20 ms, and a slow tail.
  return Array.from({ length: n }, () =>
    random() < 0.95 ? Math.exp(Math.log(20) + 1.5 * normal(random)) : 200 + 20_000 * random(),
  ).map((v) => Math.min(20_000, Math.max(0.05, v)));
}

describe('toExponentialHistogram', () => {
  for (const seed of [1, 7, 2026]) {
    it(`equals the SDK's exponential histogram of the same values, bucket for bucket (seed ${seed})`, async () => {
      const values = draws(seed, 20_000);
      const h = new LatencyHistogram();
      for (const v of values) h.record(v);
      // Room for every bucket: the SDK keeps a scale of 6 or finer; merged to 6, it must equal ours.
      const fine = await sdkPoint(values, 8_192);
      expect(fine.scale).toBeGreaterThanOrEqual(HISTOGRAM_SCALE);
      const ours = toExponentialHistogram(h);
      expect(ours.scale).toBe(HISTOGRAM_SCALE);
      const ourBuckets = downscale(ours.positive, 6, 6);
      expect(ourBuckets).toEqual(downscale(fine.positive, fine.scale, HISTOGRAM_SCALE));
      expect(ours.count).toBe(fine.count);
      expect(ours.zeroCount).toBe(fine.zeroCount);
      expect(Math.abs(ours.sum - fine.sum!) / fine.sum!).toBeLessThan(1e-12);
      expect(ours.min).toBe(fine.min);
      expect(ours.max).toBe(fine.max);
      // The SDK's default size (160 buckets) forces a coarser scale: ours, exported at it, matches too.
      const coarse = await sdkPoint(values, 160);
      expect(coarse.scale).toBeLessThan(HISTOGRAM_SCALE);
      const ourCoarse = toExponentialHistogram(h, coarse.scale);
      expect(downscale(ourCoarse.positive, coarse.scale, coarse.scale)).toEqual(
        downscale(coarse.positive, coarse.scale, coarse.scale),
      );
    });
  }

  it('is empty for an empty histogram and counts values up to 2^-20 s as zero', () => {
    const h = new LatencyHistogram();
    expect(toExponentialHistogram(h)).toMatchObject({
      count: 0,
      sum: 0,
      min: undefined,
      max: undefined,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [] },
    });
    h.record(0);
    h.record(0.0005); // 0.5 µs
    h.record(1);
    const p = toExponentialHistogram(h);
    expect(p.zeroCount).toBe(2);
    expect(p.zeroThreshold).toBe(2 ** -20);
    // 1 ms = 0.001 s lies in (2^(j/64), 2^((j+1)/64)] with j = ceil(64 log2 0.001) - 1.
    expect(p.positive).toEqual({ offset: Math.ceil(64 * Math.log2(0.001)) - 1, bucketCounts: [1] });
  });

  it('refuses a scale it cannot produce exactly', () => {
    const h = new LatencyHistogram();
    for (const bad of [7, 1.5, -11, Number.NaN]) {
      expect(() => toExponentialHistogram(h, bad)).toThrow(/scale must be an integer in \[-10, 6\]/);
    }
  });
});

describe('the base-2 buckets', () => {
  it('are within 0.5415% and fit 8 KB per histogram', () => {
    expect(HISTOGRAM_RELATIVE_ACCURACY).toBeCloseTo(0.005415, 6);
    expect(HISTOGRAM_BUCKETS).toBe(1_729);
    expect(new LatencyHistogram().counts.byteLength).toBe(6_916);
  });

  it('estimate every quantile within HISTOGRAM_RELATIVE_ACCURACY of the exact one', () => {
    const values = draws(99, 50_000);
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    const sorted = Float64Array.from(values).sort();
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThanOrEqual(
        HISTOGRAM_RELATIVE_ACCURACY + 1e-12,
      );
    }
  });
});
