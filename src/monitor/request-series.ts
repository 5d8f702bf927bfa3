import { bucketIndexOf, LatencyHistogram, MAX_RECORDED_MS } from './latency-histogram.js';

/**
 * What a series reports every record to (the monitor's totals and window).
 * @internal
 */
export interface SeriesSink {
  /** A usable duration in bucket `index`. */
  onRecord(series: RequestSeries, index: number, durationMs: number): void;
  /** A request whose duration was unusable. */
  onInvalid(series: RequestSeries): void;
}

/**
 * One labelled series of the request-duration histogram (a method, a route
 * template and a status). Get one from `PerformanceMonitor.bind()` and keep
 * it: {@link record} then skips every label lookup (O(1), no allocation).
 *
 * @example
 * ```ts
 * const okGet = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
 * okGet.record(3.2); // milliseconds
 * ```
 */
export class RequestSeries {
  /** Cumulative durations of this series since it was created. */
  readonly histogram = new LatencyHistogram();
  /** Normalised `method` label. */
  readonly method: string;
  /** `route` label (a route template). */
  readonly route: string;
  /** `status` label: a status code 100..599, `invalid`, or `__overflow__`. */
  readonly status: string;
  /** Whether this series counts as an error. */
  readonly isError: boolean;
  /** @internal index into the monitor's status-code counts (600 = invalid, 601 = overflow). */
  readonly statusIndex: number;
  /** @internal pre-rendered label text for exposition. */
  readonly labelText: string;
  readonly #sink: SeriesSink;

  /** @internal created by PerformanceMonitor only. */
  constructor(
    sink: SeriesSink,
    method: string,
    route: string,
    status: string,
    statusIndex: number,
    isError: boolean,
    labelText: string,
  ) {
    this.#sink = sink;
    this.method = method;
    this.route = route;
    this.status = status;
    this.statusIndex = statusIndex;
    this.isError = isError;
    this.labelText = labelText;
  }

  /**
   * Records one request of this series that took `durationMs`. A duration
   * that is not a non-negative number up to `MAX_RECORDED_MS` still counts the request but
   * not its latency (it is counted as an invalid sample).
   */
  record(durationMs: number): void {
    if (typeof durationMs === 'number' && durationMs >= 0 && durationMs <= MAX_RECORDED_MS) {
      const index = bucketIndexOf(durationMs);
      this.histogram.recordAt(index, durationMs);
      this.#sink.onRecord(this, index, durationMs);
    } else {
      this.histogram.invalid++;
      this.#sink.onInvalid(this);
    }
  }
}
