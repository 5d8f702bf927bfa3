import { InvalidArgumentError } from '../errors.js';
import { exponentialIndexOf, HISTOGRAM_SCALE, type LatencyHistogram } from './latency-histogram.js';

/** The upper bound of the zero bucket (bucket 0), seconds: `HISTOGRAM_MIN_MS` / 1000, exactly. */
const ZERO_THRESHOLD_SECONDS = 2 ** -20;

/**
 * The buckets of one sign of an {@link ExponentialHistogramPoint}.
 *
 * @example
 * ```ts
 * const { offset, bucketCounts }: ExponentialBuckets = toExponentialHistogram(series.histogram).positive;
 * ```
 */
export interface ExponentialBuckets {
  /** The bucket index of `bucketCounts[0]`. */
  offset: number;
  /** Counts of consecutive buckets from `offset` (zeros inside the range included). */
  bucketCounts: number[];
}

/**
 * One data point of an OpenTelemetry exponential histogram, in seconds: the
 * shape of `ExponentialHistogram` in `@opentelemetry/sdk-metrics` and of the
 * OTLP `ExponentialHistogramDataPoint` (scaleout does not depend on either).
 * Bucket `offset + k` of `positive.bucketCounts[k]` holds values in
 * `(base^(offset+k), base^(offset+k+1)]` with `base = 2^(2^-scale)`.
 *
 * @example
 * ```ts
 * const point: ExponentialHistogramPoint = toExponentialHistogram(series.histogram);
 * point.positive.bucketCounts.reduce((a, b) => a + b, point.zeroCount) === point.count; // true
 * ```
 */
export interface ExponentialHistogramPoint {
  /** The scale: `base = 2^(2^-scale)`. 6 unless a lower one was asked for. */
  scale: number;
  /** Number of values. */
  count: number;
  /** Sum of the values, seconds. */
  sum: number;
  /** Smallest value, seconds (`undefined` when empty). */
  min: number | undefined;
  /** Largest value, seconds (`undefined` when empty). */
  max: number | undefined;
  /** Values at or below {@link zeroThreshold}. */
  zeroCount: number;
  /** The zero bucket's upper bound, seconds: 2^-20 (about 0.95 µs). */
  zeroThreshold: number;
  /** The buckets of positive values. */
  positive: ExponentialBuckets;
  /** Durations are never negative: always empty. */
  negative: ExponentialBuckets;
}

/**
 * A {@link LatencyHistogram} as an OpenTelemetry exponential-histogram data
 * point of seconds. Lossless at scale 6 (the histogram's own buckets, one
 * for one) and at any lower scale (2^(6 - scale) buckets merged into one,
 * as an OTel SDK downscales), except for values over 128 s, which the
 * histogram keeps in its last bucket (`max` stays exact).
 *
 * @example
 * ```ts
 * const series = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
 * const point = toExponentialHistogram(series.histogram, 3); // fewer buckets for a strict backend
 * ```
 */
export function toExponentialHistogram(
  histogram: LatencyHistogram,
  scale: number = HISTOGRAM_SCALE,
): ExponentialHistogramPoint {
  if (!Number.isInteger(scale) || scale < -10 || scale > HISTOGRAM_SCALE) {
    throw new InvalidArgumentError(`scale must be an integer in [-10, ${HISTOGRAM_SCALE}]`, {
      argument: 'scale',
    });
  }
  const shift = 2 ** (HISTOGRAM_SCALE - scale);
  const counts = histogram.counts;
  let zeroCount = 0;
  let offset = 0;
  const bucketCounts: number[] = [];
  for (let i = histogram.lowIndex; i <= histogram.highIndex; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    if (i === 0) {
      zeroCount += c;
      continue;
    }
    const j = Math.floor(exponentialIndexOf(i) / shift);
    if (bucketCounts.length === 0) offset = j;
    const k = j - offset;
    while (bucketCounts.length <= k) bucketCounts.push(0);
    bucketCounts[k]! += c;
  }
  const empty = histogram.count === 0;
  return {
    scale,
    count: histogram.count,
    sum: histogram.sum / 1000,
    min: empty ? undefined : histogram.min / 1000,
    max: empty ? undefined : histogram.max / 1000,
    zeroCount,
    zeroThreshold: ZERO_THRESHOLD_SECONDS,
    positive: { offset, bucketCounts },
    negative: { offset: 0, bucketCounts: [] },
  };
}
