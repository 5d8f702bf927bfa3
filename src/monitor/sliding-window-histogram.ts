import { InvalidOptionsError } from '../errors.js';
import { durationOption } from '../internal/validate.js';
import { LatencyHistogram } from './latency-histogram.js';

/**
 * Options of {@link SlidingWindowHistogram}.
 *
 * @example
 * ```ts
 * const options: SlidingWindowHistogramOptions = { windowMs: 60_000, slots: 6 };
 * ```
 */
export interface SlidingWindowHistogramOptions {
  /** Length of the window, ms. @default 300_000 (5 minutes) */
  windowMs?: number;
  /** Number of rotating sub-histograms the window is cut into (2..60). @default 5 */
  slots?: number;
}

/**
 * Defaults of {@link SlidingWindowHistogramOptions}.
 *
 * @example
 * ```ts
 * const slotMs = SLIDING_WINDOW_DEFAULTS.windowMs / SLIDING_WINDOW_DEFAULTS.slots; // 60_000
 * ```
 */
export const SLIDING_WINDOW_DEFAULTS: Readonly<Required<SlidingWindowHistogramOptions>> = Object.freeze({
  windowMs: 300_000,
  slots: 5,
});

/**
 * "The last N minutes" of latencies: `slots` {@link LatencyHistogram}s that
 * rotate every `windowMs / slots`. A read merges the live slots, so it covers
 * between `windowMs - windowMs/slots` and `windowMs` of history. Rotation is
 * driven by the timestamps passed to {@link record} and {@link snapshot}
 * (monotonic ms): no timer, no allocation on the hot path.
 *
 * @example
 * ```ts
 * const w = new SlidingWindowHistogram({ windowMs: 60_000, slots: 6 });
 * w.record(12.5, performance.now());
 * w.snapshot(performance.now()).quantile(0.99);
 * ```
 */
export class SlidingWindowHistogram {
  readonly #slots: LatencyHistogram[];
  readonly #slotMs: number;
  readonly #merged = new LatencyHistogram();
  #current = 0;
  #slotEnd: number;
  /** Start (monotonic ms) of the oldest live slot. */
  #windowStart: number;
  /** Length of the window, ms. */
  readonly windowMs: number;

  constructor(options: SlidingWindowHistogramOptions = {}, nowMs = performance.now()) {
    this.windowMs = durationOption('windowMs', options.windowMs ?? SLIDING_WINDOW_DEFAULTS.windowMs);
    const slots = options.slots ?? SLIDING_WINDOW_DEFAULTS.slots;
    if (!Number.isInteger(slots) || slots < 2 || slots > 60) {
      throw new InvalidOptionsError('slots must be an integer in [2, 60]', { option: 'slots' });
    }
    this.#slotMs = this.windowMs / slots;
    this.#slots = Array.from({ length: slots }, () => new LatencyHistogram());
    this.#slotEnd = nowMs + this.#slotMs;
    this.#windowStart = nowMs;
  }

  /** Moves the window forward to `nowMs`, clearing slots that fell out of it. */
  advance(nowMs: number): void {
    if (!(nowMs >= this.#slotEnd)) return;
    const n = this.#slots.length;
    const steps = Math.min(n, Math.floor((nowMs - this.#slotEnd) / this.#slotMs) + 1);
    for (let s = 0; s < steps; s++) {
      this.#current = (this.#current + 1) % n;
      this.#slots[this.#current]!.reset();
    }
    this.#slotEnd += Math.floor((nowMs - this.#slotEnd) / this.#slotMs + 1) * this.#slotMs;
    this.#windowStart = Math.max(this.#windowStart, this.#slotEnd - this.#slotMs * n);
  }

  /**
   * Records a value (ms) observed at `nowMs` (monotonic ms). O(1), no
   * allocation. Without `nowMs` the value goes to the current slot (for
   * callers that {@link advance} the window on a timer).
   */
  record(valueMs: number, nowMs?: number): void {
    if (nowMs !== undefined && nowMs >= this.#slotEnd) this.advance(nowMs);
    this.#slots[this.#current]!.record(valueMs);
  }

  /**
   * Records a value whose bucket index is known (see `LatencyHistogram.recordAt`)
   * into the current slot, without reading a clock.
   * @internal
   */
  recordAt(index: number, valueMs: number): void {
    this.#slots[this.#current]!.recordAt(index, valueMs);
  }

  /** Counts an unusable value in the current slot. @internal */
  recordInvalid(): void {
    this.#slots[this.#current]!.invalid++;
  }

  /**
   * The merged histogram of the live window at `nowMs`. The returned object
   * is reused by the next call: read it before calling again.
   */
  snapshot(nowMs: number): LatencyHistogram {
    this.advance(nowMs);
    this.#merged.reset();
    for (const slot of this.#slots) this.#merged.merge(slot);
    return this.#merged;
  }

  /** How much time (ms) the live slots cover at `nowMs` (for rates). */
  coveredMs(nowMs: number): number {
    this.advance(nowMs);
    return Math.max(0, Math.min(this.windowMs, nowMs - this.#windowStart));
  }
}
