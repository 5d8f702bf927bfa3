import { InvalidArgumentError } from '../errors.js';

/**
 * The OpenTelemetry exponential-histogram scale of the buckets: bucket
 * bounds are the powers of `2^(2^-6)` seconds, so a histogram exports
 * bucket for bucket (losslessly) as an OTel exponential histogram of
 * seconds at this scale or any lower one (see `toExponentialHistogram`).
 *
 * @example
 * ```ts
 * const base = 2 ** (2 ** -HISTOGRAM_SCALE); // 1.0108892860517005
 * ```
 */
export const HISTOGRAM_SCALE = 6;

/** Buckets per doubling: `2^HISTOGRAM_SCALE`. */
const PER_OCTAVE = 2 ** HISTOGRAM_SCALE;
/** The ratio of a bucket's upper bound to its lower one: `2^(1/64)`. */
const GAMMA = 2 ** (1 / PER_OCTAVE);

/**
 * Relative accuracy of every {@link LatencyHistogram}: a quantile estimate is
 * within this fraction of the true value of the sample at that rank
 * (`(γ - 1) / (γ + 1)` with `γ = 2^(1/64)`: 0.5415%).
 *
 * @example
 * ```ts
 * const tolerance = exactP99 * HISTOGRAM_RELATIVE_ACCURACY; // < 0.55%
 * ```
 */
export const HISTOGRAM_RELATIVE_ACCURACY = (GAMMA - 1) / (GAMMA + 1);

/** Exponent (in 64ths of a doubling, of seconds) of the upper bound of bucket 0: 2^-20 s. */
const MIN_EXPONENT = -20 * PER_OCTAVE;
/** Exponent of the upper bound of the last bucket: 2^7 s. */
const MAX_EXPONENT = 7 * PER_OCTAVE;
/** Smallest value (ms) with its own bucket: 2^-20 s (about 0.95 µs). Smaller values count as "zero". */
export const HISTOGRAM_MIN_MS = 1000 * 2 ** -20;
/** Largest value (ms) with its own bucket: 2^7 s (128 s). Larger values go to the last bucket. */
export const HISTOGRAM_MAX_MS = 1000 * 2 ** 7;
/**
 * Longest duration recorded, ms (about 31 years): a larger value is counted
 * as invalid, so sums and averages stay finite (two records of 1e308 would
 * make the sum Infinity and every average null in JSON).
 */
export const MAX_RECORDED_MS = 1e12;
/** Number of buckets (1,729); counts are a Uint32Array of this length (4 bytes each). */
export const HISTOGRAM_BUCKETS = MAX_EXPONENT - MIN_EXPONENT + 1;
const LAST = HISTOGRAM_BUCKETS - 1;

/** Upper bounds (ms) of every bucket, computed once (shared by all histograms): `1000 · 2^((i - 1280) / 64)`. */
const BOUNDS = Float64Array.from(
  { length: HISTOGRAM_BUCKETS },
  (_, i) => 1000 * 2 ** ((i + MIN_EXPONENT) / PER_OCTAVE),
);

/** Upper bound (ms, inclusive) of bucket `i`: bucket `i` holds values in `(bound(i-1), bound(i)]`. */
export function bucketUpperBoundMs(i: number): number {
  return BOUNDS[i]!;
}

/**
 * The OpenTelemetry exponential-histogram index (scale 6, seconds) of
 * bucket `i`, for `i` from 1: bucket `i` holds `(2^(j/64), 2^((j+1)/64)]`
 * seconds with `j` the result. Bucket 0 is the zero bucket.
 * @internal
 */
export function exponentialIndexOf(i: number): number {
  return i + MIN_EXPONENT - 1;
}

/** The bucket a value (ms) falls in: 0 for values `<= HISTOGRAM_MIN_MS`, the last one from `HISTOGRAM_MAX_MS` up. */
export function bucketIndexOf(valueMs: number): number {
  if (!(valueMs > HISTOGRAM_MIN_MS)) return 0;
  if (valueMs >= HISTOGRAM_MAX_MS) return LAST;
  let i = Math.ceil(Math.log2(valueMs / 1000) * PER_OCTAVE) - MIN_EXPONENT;
  // Guard the float rounding of log2() at exact bucket bounds.
  if (i > 0 && valueMs <= BOUNDS[i - 1]!) i--;
  else if (valueMs > BOUNDS[i]!) i++;
  return i;
}

const UINT32_WRAP = 2 ** 32;

/** The value reported for bucket `i`: the point of least relative error inside it. */
function representative(i: number): number {
  return (2 * bucketUpperBoundMs(i)) / (1 + GAMMA);
}

/**
 * A latency histogram in constant memory (DDSketch-style logarithmic
 * buckets on base-2 bounds, those of an OpenTelemetry exponential histogram
 * of seconds at scale 6): every quantile from the minimum to the maximum is
 * within {@link HISTOGRAM_RELATIVE_ACCURACY} (0.5415%) of the true value at
 * that rank, for values between about 1 µs and 128 s (values outside are
 * clamped to the exact minimum/maximum seen). Counts live in one
 * Uint32Array of 1,729 entries (6,916 bytes), upgraded once to a
 * Float64Array if a bucket ever passes 2^32 - 1. {@link record} is O(1) and allocates nothing. Two histograms {@link merge} exactly, so
 * instances on several processes can be combined.
 *
 * Values are milliseconds. Non-numbers, NaN, negatives and infinities are
 * not recorded; they are counted in {@link invalid}.
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * for (const ms of [1.2, 3.4, 250]) h.record(ms);
 * h.quantile(0.99); // ≈ 250 (within 1%)
 * ```
 */
export class LatencyHistogram {
  /** Bucket counts (read-only for callers): Uint32, or Float64 once a bucket passed 2^32 - 1. */
  counts: Uint32Array | Float64Array = new Uint32Array(HISTOGRAM_BUCKETS);
  /** Number of recorded values. */
  count = 0;
  /** Sum of recorded values, ms. */
  sum = 0;
  /** Smallest recorded value, ms (`Infinity` when empty). */
  min = Number.POSITIVE_INFINITY;
  /** Largest recorded value, ms (`-Infinity` when empty). */
  max = Number.NEGATIVE_INFINITY;
  /** Values refused: not a non-negative number up to {@link MAX_RECORDED_MS}. */
  invalid = 0;
  /** Lowest bucket index in use (for fast scans), or `HISTOGRAM_BUCKETS` when empty. */
  lowIndex = HISTOGRAM_BUCKETS;
  /** Highest bucket index in use, or -1 when empty. */
  highIndex = -1;

  /** Records one value in milliseconds. O(1), no allocation. Bad values are counted in {@link invalid}. */
  record(valueMs: number): void {
    if (typeof valueMs !== 'number' || !(valueMs >= 0) || !(valueMs <= MAX_RECORDED_MS)) {
      this.invalid++;
      return;
    }
    this.recordAt(bucketIndexOf(valueMs), valueMs);
  }

  /**
   * Records a value whose bucket is already known (`bucketIndexOf(valueMs)`),
   * so one value can go to several histograms for the price of one log().
   * @internal
   */
  recordAt(i: number, valueMs: number): void {
    const counts = this.counts;
    // A Uint32 store wraps to 0 past 2^32 - 1 (the expression value would not show it).
    counts[i]!++;
    if (counts[i] === 0) this.#widen(i);
    if (i < this.lowIndex) this.lowIndex = i;
    if (i > this.highIndex) this.highIndex = i;
    this.count++;
    this.sum += valueMs;
    if (valueMs < this.min) this.min = valueMs;
    if (valueMs > this.max) this.max = valueMs;
  }

  /**
   * The value at quantile `q` in `[0, 1]` (the sample at rank `floor(q * (count - 1))`
   * of the sorted values), within 0.5415%; `NaN` when empty.
   */
  quantile(q: number): number {
    if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
      throw new InvalidArgumentError('q must be a number in [0, 1]', { argument: 'q' });
    }
    if (this.count === 0) return Number.NaN;
    const rank = Math.floor(q * (this.count - 1));
    if (rank === 0) return this.min;
    if (rank === this.count - 1) return this.max;
    let seen = 0;
    for (let i = this.lowIndex; i <= this.highIndex; i++) {
      seen += this.counts[i]!;
      if (seen > rank) {
        const v = i === 0 || i === LAST ? (i === 0 ? this.min : this.max) : representative(i);
        return Math.min(this.max, Math.max(this.min, v));
      }
    }
    return this.max;
  }

  /** Mean of recorded values, ms; `NaN` when empty. */
  mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  /** Number of recorded values `<= boundMs`, exact when `boundMs` is a bucket bound. */
  countAtOrBelow(boundMs: number): number {
    const last = Math.min(this.highIndex, bucketIndexOf(boundMs));
    let n = 0;
    for (let i = this.lowIndex; i <= last; i++) n += this.counts[i]!;
    return n;
  }

  /** A Uint32 bucket wrapped to 0: switch to Float64 counts (once) and restore it. */
  #widen(wrapped: number): void {
    const wide = Float64Array.from(this.counts);
    wide[wrapped] = UINT32_WRAP;
    this.counts = wide;
  }

  /** Adds every value of `other` into this histogram (exact). */
  merge(other: LatencyHistogram): this {
    if (other.count === 0 && other.invalid === 0) return this;
    for (let i = other.lowIndex; i <= other.highIndex; i++) this.#add(i, other.counts[i]!);
    this.count += other.count;
    this.sum += other.sum;
    this.invalid += other.invalid;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.lowIndex < this.lowIndex) this.lowIndex = other.lowIndex;
    if (other.highIndex > this.highIndex) this.highIndex = other.highIndex;
    return this;
  }

  #add(i: number, n: number): void {
    if (n === 0) return;
    const sum = this.counts[i]! + n;
    if (sum >= UINT32_WRAP && this.counts instanceof Uint32Array)
      this.counts = Float64Array.from(this.counts);
    this.counts[i] = sum;
  }

  /** Empties the histogram (no allocation). */
  reset(): void {
    if (this.highIndex >= 0) this.counts.fill(0, this.lowIndex, this.highIndex + 1);
    this.count = 0;
    this.sum = 0;
    this.invalid = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.lowIndex = HISTOGRAM_BUCKETS;
    this.highIndex = -1;
  }

  /**
   * A compact, JSON-safe snapshot (non-empty buckets only), for shipping to
   * another process and {@link LatencyHistogram.fromJSON}.
   */
  toJSON(): LatencyHistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = this.lowIndex; i <= this.highIndex; i++) {
      const c = this.counts[i]!;
      if (c > 0) buckets.push([i, c]);
    }
    return {
      version: 2,
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? null : this.min,
      max: this.count === 0 ? null : this.max,
      invalid: this.invalid,
      buckets,
    };
  }

  /** Rebuilds a histogram from {@link toJSON} output; throws InvalidArgumentError on a malformed snapshot. */
  static fromJSON(snapshot: LatencyHistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    if (
      typeof snapshot === 'object' &&
      snapshot !== null &&
      (snapshot as { version?: unknown }).version === 1
    ) {
      throw new InvalidArgumentError(
        'a version 1 LatencyHistogram snapshot (the earlier γ = 1.0189 buckets) cannot be read exactly into base-2 buckets: export it again from the same scaleout version as the reader',
        { argument: 'snapshot' },
      );
    }
    if (typeof snapshot !== 'object' || snapshot === null || snapshot.version !== 2) {
      throw new InvalidArgumentError('not a LatencyHistogram snapshot (version 2)', { argument: 'snapshot' });
    }
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
    if (!Array.isArray(snapshot.buckets) || !num(snapshot.sum) || !num(snapshot.invalid)) {
      throw new InvalidArgumentError('malformed LatencyHistogram snapshot', { argument: 'snapshot' });
    }
    let count = 0;
    for (const entry of snapshot.buckets) {
      const [i, c] = Array.isArray(entry) ? entry : [];
      if (!Number.isInteger(i) || i! < 0 || i! >= HISTOGRAM_BUCKETS || !num(c)) {
        throw new InvalidArgumentError('malformed LatencyHistogram bucket', { argument: 'snapshot' });
      }
      h.#add(i!, c!);
      count += c!;
      if (i! < h.lowIndex) h.lowIndex = i!;
      if (i! > h.highIndex) h.highIndex = i!;
    }
    if (count !== snapshot.count) {
      throw new InvalidArgumentError('LatencyHistogram snapshot count does not match its buckets', {
        argument: 'snapshot',
      });
    }
    h.count = count;
    h.sum = snapshot.sum;
    h.invalid = snapshot.invalid;
    if (count > 0) {
      h.min = num(snapshot.min) ? snapshot.min! : bucketUpperBoundMs(h.lowIndex) / GAMMA;
      h.max = num(snapshot.max) ? snapshot.max! : bucketUpperBoundMs(h.highIndex);
    }
    return h;
  }
}

/**
 * The JSON form of a {@link LatencyHistogram}.
 *
 * @example
 * ```ts
 * const wire: LatencyHistogramSnapshot = histogram.toJSON();
 * const copy = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(wire)));
 * ```
 */
export interface LatencyHistogramSnapshot {
  /** Format version: 2 (base-2 buckets, scale 6; version 1 had γ = 1.0189 buckets and is refused). */
  version: 2;
  /** Number of values. */
  count: number;
  /** Sum of values, ms. */
  sum: number;
  /** Smallest value, ms, or null when empty. */
  min: number | null;
  /** Largest value, ms, or null when empty. */
  max: number | null;
  /** Refused values. */
  invalid: number;
  /** Non-empty buckets as `[index, count]`. */
  buckets: Array<[number, number]>;
}
