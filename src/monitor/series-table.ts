import { labelText } from './prometheus-text.js';
import {
  INVALID_STATUS,
  METHODS,
  methodIndex,
  OVERFLOW,
  OVERFLOW_STATUS,
  routeLabel,
  statusIndex,
} from './request-labels.js';
import { RequestSeries, type SeriesSink } from './request-series.js';
import { SlidingWindowHistogram } from './sliding-window-histogram.js';

/** @internal What a {@link SeriesTable} is built from (checked by the monitor's options). */
export interface SeriesTableSettings {
  readonly maxSeries: number;
  readonly errorStatusMin: number;
  readonly windowMs: number;
  readonly windowSlots: number;
  /** The monitor's clock when it started: the windows begin there. */
  readonly startedAt: number;
}

/**
 * @internal Every request-duration series of a monitor, found by label, and
 * the totals every record feeds: counts since start (per status, errors,
 * unusable durations, overflows) and the two sliding windows (all requests,
 * errors) behind the percentiles and rates of `getStats()`.
 *
 * Series are created on first use and never dropped, so a series found once
 * stays valid: `bind()` hands it out, and the HTTP path keeps the last one it
 * found. Past `maxSeries`, new label combinations go to one `__overflow__`
 * series per status class, so errors stay errors; overflow lookups are
 * counted each time (`scaleout_monitor_overflow_total`).
 */
export class SeriesTable implements SeriesSink {
  /** Every request, sliced by time. */
  readonly window: SlidingWindowHistogram;
  /** Error requests, sliced by time. */
  readonly errorWindow: SlidingWindowHistogram;
  /** Requests per status index (100..599, 600 invalid, 601..606 overflow classes). */
  readonly statusCounts = new Float64Array(OVERFLOW_STATUS + 6);
  /** Every series below the cap, in creation order. */
  readonly series: RequestSeries[] = [];
  /** Requests recorded since start. */
  total = 0;
  /** Of which errors. */
  errors = 0;
  /** Of which with an unusable duration. */
  invalid = 0;
  /** Lookups folded into an overflow series. */
  overflowed = 0;
  readonly #maxSeries: number;
  readonly #errorStatusMin: number;
  /** route → method index → the series of that route and method (a short list, scanned by status). */
  readonly #routes = new Map<string, Array<RequestSeries[] | undefined>>();
  readonly #overflowSeries: Array<RequestSeries | undefined> = new Array(6);
  /** The series of the last HTTP response recorded, and its labels as given. */
  #lastHttp: RequestSeries | undefined;
  #lastHttpRoute = '';
  #lastHttpMethod: unknown;
  #lastHttpStatus = 0;

  constructor(settings: SeriesTableSettings) {
    this.#maxSeries = settings.maxSeries;
    this.#errorStatusMin = settings.errorStatusMin;
    const windowOptions = { windowMs: settings.windowMs, slots: settings.windowSlots };
    this.window = new SlidingWindowHistogram(windowOptions, settings.startedAt);
    this.errorWindow = new SlidingWindowHistogram(windowOptions, settings.startedAt);
  }

  /** Rotates both windows to `now`. */
  advance(now: number): void {
    this.window.advance(now);
    this.errorWindow.advance(now);
  }

  /** A usable duration in bucket `index` of `series` (RequestSeries.record calls it). */
  onRecord(series: RequestSeries, index: number, durationMs: number): void {
    this.total++;
    this.statusCounts[series.statusIndex]!++;
    this.window.recordAt(index, durationMs);
    if (series.isError) {
      this.errors++;
      this.errorWindow.recordAt(index, durationMs);
    }
  }

  /** An unusable duration of `series` (RequestSeries.record calls it). */
  onInvalid(series: RequestSeries): void {
    this.total++;
    this.invalid++;
    this.statusCounts[series.statusIndex]!++;
    this.window.recordInvalid();
    if (series.isError) {
      this.errors++;
      this.errorWindow.recordInvalid();
    }
  }

  /**
   * The series of an HTTP response, labels as node:http gives them. The last
   * series found answers the next response with the same labels (most of a
   * busy route's traffic) without a lookup.
   */
  httpSeries(method: unknown, route: string, status: number): RequestSeries {
    const last = this.#lastHttp;
    if (
      last !== undefined &&
      route === this.#lastHttpRoute &&
      method === this.#lastHttpMethod &&
      status === this.#lastHttpStatus
    ) {
      return last;
    }
    const overflowed = this.overflowed;
    const series = this.lookup(method, route, status);
    // Overflow lookups are counted each time, so they are not kept.
    if (this.overflowed === overflowed) {
      this.#lastHttp = series;
      this.#lastHttpRoute = route;
      this.#lastHttpMethod = method;
      this.#lastHttpStatus = status;
    }
    return series;
  }

  /** The series of these labels (normalised), created on first use; an overflow series past the cap. */
  lookup(method: unknown, route: unknown, status: unknown): RequestSeries {
    const r = routeLabel(route);
    const m = methodIndex(method);
    const s = statusIndex(status);
    let byMethod = this.#routes.get(r);
    let byStatus = byMethod?.[m];
    if (byStatus !== undefined) {
      for (let i = 0; i < byStatus.length; i++) {
        const candidate = byStatus[i]!;
        if (candidate.statusIndex === s) return candidate;
      }
    }
    if (this.series.length >= this.#maxSeries) {
      this.overflowed++;
      return this.#overflow(s);
    }
    if (byMethod === undefined) {
      byMethod = new Array(METHODS.length);
      this.#routes.set(r, byMethod);
    }
    if (byStatus === undefined) {
      byStatus = [];
      byMethod[m] = byStatus;
    }
    const statusLabel = s === INVALID_STATUS ? 'invalid' : String(s);
    const isError = s === INVALID_STATUS || s >= this.#errorStatusMin;
    const series = new RequestSeries(
      this,
      METHODS[m]!,
      r,
      statusLabel,
      s,
      isError,
      labelText([
        ['method', METHODS[m]!],
        ['route', r],
        ['status', statusLabel],
      ]),
    );
    byStatus.push(series);
    this.series.push(series);
    return series;
  }

  /** One overflow series per status class, so errors stay errors past the cap. */
  #overflow(s: number): RequestSeries {
    const k = s === INVALID_STATUS ? 5 : Math.floor(s / 100) - 1;
    let series = this.#overflowSeries[k];
    if (series === undefined) {
      const status = k === 5 ? 'invalid' : `${k + 1}xx`;
      const isError = k === 5 || (k + 1) * 100 >= this.#errorStatusMin;
      series = new RequestSeries(
        this,
        OVERFLOW,
        OVERFLOW,
        status,
        OVERFLOW_STATUS + k,
        isError,
        labelText([
          ['method', OVERFLOW],
          ['route', OVERFLOW],
          ['status', status],
        ]),
      );
      this.#overflowSeries[k] = series;
    }
    return series;
  }

  /** Every series, the overflow ones last. */
  allSeries(): RequestSeries[] {
    const all = this.series.slice();
    for (const s of this.#overflowSeries) if (s !== undefined) all.push(s);
    return all;
  }
}
