import { describe, expect, it } from 'vitest';
import {
  bucketIndexOf,
  bucketUpperBoundMs,
  HISTOGRAM_BUCKETS,
  HISTOGRAM_RELATIVE_ACCURACY,
  LatencyHistogram,
} from '../../../src/monitor/latency-histogram.js';
import { normal, seededRandom } from '../../helpers/seeded-random.js';

const QUANTILES = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999];

const distributions: Record<string, (r: () => number) => number> = {
  'uniform 1..1000 ms': (r) => 1 + 999 * r(),
  'lognormal (median 20 ms, sigma 1)': (r) => Math.exp(Math.log(20) + normal(r)),
  'bimodal (cache hits ~0.3 ms, misses ~120 ms)': (r) =>
    r() < 0.8 ? Math.max(0.01, 0.3 + 0.05 * normal(r)) : Math.max(1, 120 + 25 * normal(r)),
  'heavy tail (Pareto, alpha 1.2, from 0.5 ms)': (r) => Math.min(100_000, 0.5 / (1 - r()) ** (1 / 1.2)),
};

function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

describe('LatencyHistogram accuracy against exact sorted quantiles', () => {
  for (const [name, draw] of Object.entries(distributions)) {
    for (const seed of [1, 2026]) {
      it(`${name}, seed ${seed}: p50..p99.9 within 1%`, () => {
        const random = seededRandom(seed);
        const n = 50_000;
        const values = new Float64Array(n);
        const h = new LatencyHistogram();
        for (let i = 0; i < n; i++) {
          values[i] = draw(random);
          h.record(values[i]!);
        }
        values.sort();
        for (const q of QUANTILES) {
          const exact = exactQuantile(values, q);
          const estimate = h.quantile(q);
          const error = Math.abs(estimate - exact) / exact;
          expect(error, `q=${q} exact=${exact} estimate=${estimate}`).toBeLessThanOrEqual(0.01);
        }
        expect(h.count).toBe(n);
        expect(h.min).toBe(values[0]);
        expect(h.max).toBe(values[n - 1]);
        expect(h.quantile(0)).toBe(values[0]);
        expect(h.quantile(1)).toBe(values[n - 1]);
        const sum = values.reduce((a, b) => a + b, 0);
        expect(h.mean()).toBeCloseTo(sum / n, 6);
      });
    }
  }
});

describe('LatencyHistogram', () => {
  it('fits in 8 KB per series (Uint32Array counts)', () => {
    const h = new LatencyHistogram();
    expect(h.counts).toBeInstanceOf(Uint32Array);
    expect(h.counts.byteLength).toBe(HISTOGRAM_BUCKETS * 4);
    expect(h.counts.byteLength).toBeLessThanOrEqual(8192);
    expect(HISTOGRAM_RELATIVE_ACCURACY).toBeLessThan(0.01);
  });

  it('widens to Float64 counts instead of wrapping past 2^32 - 1', () => {
    const h = new LatencyHistogram();
    const i = bucketIndexOf(10);
    h.record(10);
    (h.counts as Uint32Array)[i] = 2 ** 32 - 1;
    h.count = 2 ** 32 - 1;
    h.record(10);
    expect(h.counts).toBeInstanceOf(Float64Array);
    expect(h.counts[i]).toBe(2 ** 32);
    h.record(10);
    expect(h.counts[i]).toBe(2 ** 32 + 1);
    expect(h.countAtOrBelow(bucketUpperBoundMs(i))).toBe(2 ** 32 + 1);
    const other = new LatencyHistogram();
    (other.counts as Uint32Array)[i] = 2 ** 32 - 1;
    other.lowIndex = i;
    other.highIndex = i;
    other.count = 2 ** 32 - 1;
    const merged = new LatencyHistogram().merge(other).merge(other);
    expect(merged.counts[i]).toBe(2 * (2 ** 32 - 1));
  });

  it('places every value inside its bucket bounds', () => {
    const random = seededRandom(7);
    const misplaced: number[] = [];
    for (let k = 0; k < 20_000; k++) {
      const v = 2 ** (-9 + 25 * random());
      const i = bucketIndexOf(v);
      if (v > bucketUpperBoundMs(i) || (i > 0 && v <= bucketUpperBoundMs(i - 1))) misplaced.push(v);
    }
    for (let i = 1; i < HISTOGRAM_BUCKETS - 1; i++) {
      if (bucketIndexOf(bucketUpperBoundMs(i)) !== i) misplaced.push(bucketUpperBoundMs(i));
    }
    expect(misplaced).toEqual([]);
  });

  it('refuses bad values without throwing and counts them', () => {
    const h = new LatencyHistogram();
    for (const bad of [Number.NaN, -1, -0.001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      h.record(bad);
    for (const bad of ['5', null, undefined, {}, 5n]) h.record(bad as never);
    expect(h.count).toBe(0);
    expect(h.invalid).toBe(10);
    expect(Number.isNaN(h.quantile(0.5))).toBe(true);
    h.record(0);
    h.record(1e9);
    expect(h.count).toBe(2);
    expect(h.quantile(0)).toBe(0);
    expect(h.quantile(1)).toBe(1e9);
  });

  it('merges exactly: two halves equal the whole', () => {
    const random = seededRandom(3);
    const whole = new LatencyHistogram();
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 50_000; i++) {
      const v = Math.exp(3 * normal(random));
      whole.record(v);
      (i % 2 === 0 ? a : b).record(v);
    }
    const merged = new LatencyHistogram().merge(a).merge(b);
    expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
    expect(merged.count).toBe(whole.count);
    expect(merged.min).toBe(whole.min);
    expect(merged.max).toBe(whole.max);
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(whole.quantile(q));
  });

  it('round-trips through JSON and rejects malformed snapshots', () => {
    const h = new LatencyHistogram();
    for (const v of [0.5, 3, 3, 80, 1200]) h.record(v);
    const copy = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(Array.from(copy.counts)).toEqual(Array.from(h.counts));
    expect(copy.quantile(0.5)).toBe(h.quantile(0.5));
    expect(copy.sum).toBe(h.sum);
    const json = h.toJSON();
    expect(() => LatencyHistogram.fromJSON({ ...json, count: 99 })).toThrow(/count/);
    expect(() => LatencyHistogram.fromJSON({ ...json, buckets: [[5000, 1]] })).toThrow(/bucket/);
    expect(() => LatencyHistogram.fromJSON({ ...json, version: 3 } as never)).toThrow(/snapshot/);
    // Version 1 held the earlier γ = 1.0189 buckets: refused, not misread.
    expect(() => LatencyHistogram.fromJSON({ ...json, version: 1 } as never)).toThrow(/version 1/);
  });

  it('counts values at or below a bucket bound exactly and resets', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.record(i);
    const bound = bucketUpperBoundMs(bucketIndexOf(50));
    expect(h.countAtOrBelow(bound)).toBe(50);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.counts.every((c) => c === 0)).toBe(true);
    expect(() => h.quantile(2)).toThrow(/q must be/);
  });
});
