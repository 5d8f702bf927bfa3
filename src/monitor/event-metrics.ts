import { LatencyHistogram } from './latency-histogram.js';
import { labelNameFor } from './metric-names.js';
import { type ExpositionWriter, escapeHelp, formatValue, labelText } from './prometheus-text.js';

/** Most labels one event may carry; an event with more is dropped (and counted). */
export const MAX_EVENT_LABELS = 32;
/** Longest label name accepted from a mapping, in UTF-16 units; longer ones drop the event. */
export const MAX_LABEL_NAME_LENGTH = 128;
/** Label values are cut to this many UTF-16 units (a cut surrogate pair becomes U+FFFD). */
export const MAX_LABEL_VALUE_LENGTH = 256;

/**
 * A label value an event mapping may return; `undefined` drops the label.
 *
 * @example
 * ```ts
 * const labels: Record<string, EventLabelValue> = { service: 'inventory', retried: true, attempt: undefined };
 * ```
 */
export type EventLabelValue = string | number | boolean | undefined;

/**
 * How one event becomes a metric in {@link PerformanceMonitor.observe}. With
 * `durationMs` the event feeds a histogram
 * (`scaleout_<source>_<event>_duration_seconds`), otherwise a counter
 * (`scaleout_<source>_<event>_total`).
 *
 * @example
 * ```ts
 * const mapping: EventMetricMapping<{ durationMs: number; outcome: string }> = {
 *   durationMs: (e) => e.durationMs,
 *   labels: (e) => ({ outcome: e.outcome }),
 *   help: 'Upstream calls by outcome',
 * };
 * ```
 */
export interface EventMetricMapping<P> {
  /** The duration (ms) this event carries; makes the metric a histogram. */
  durationMs?: (payload: P) => number | undefined;
  /**
   * Labels of the event. Keep values bounded (outcomes, service names);
   * series are capped. Names that are not lint-clean Prometheus label names
   * are encoded (see `labelNameFor`); values are cut at 256 characters. An
   * event whose labels are not a plain object, number more than 32 or have a
   * name longer than 128 characters is dropped and counted in
   * `scaleout_monitor_observe_errors_total`.
   */
  labels?: (payload: P) => Record<string, EventLabelValue>;
  /** Metric name part replacing the event name. @default the event name */
  name?: string;
  /** HELP text. @default a generated description */
  help?: string;
}

/** @internal A counter or histogram family fed by events, capped in series. */
export class EventMetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  /** The `observe()` source and event (or name) that feed it: another may not. */
  readonly origin: string;
  readonly #series = new Map<string, { labels: string; value: number; histogram?: LatencyHistogram }>();
  readonly #maxSeries: number;
  #overflowed = 0;

  constructor(name: string, help: string, type: 'counter' | 'histogram', maxSeries: number, origin = name) {
    this.name = name;
    this.origin = origin;
    this.help = help;
    this.type = type;
    this.#maxSeries = maxSeries;
  }

  /** Series beyond the cap that were folded into the overflow series. */
  get overflowed(): number {
    return this.#overflowed;
  }

  get size(): number {
    return this.#series.size;
  }

  /**
   * Counts one event (and records its duration for a histogram). Returns
   * `false`, recording nothing, when `labels` is unusable: not undefined or
   * a plain object (an array, a Map, a string), more than {@link MAX_EVENT_LABELS} labels, a name longer
   * than {@link MAX_LABEL_NAME_LENGTH}.
   */
  add(labels: Record<string, EventLabelValue> | undefined, durationMs: number | undefined): boolean {
    let key = '';
    if (labels !== undefined) {
      if (typeof labels !== 'object' || labels === null) return false;
      const proto = Object.getPrototypeOf(labels);
      if (proto !== Object.prototype && proto !== null) return false;
      const names = Object.keys(labels);
      if (names.length > MAX_EVENT_LABELS) return false;
      const pairs: Array<[string, string]> = [];
      for (const name of names) {
        if (name.length > MAX_LABEL_NAME_LENGTH) return false;
        const v = labels[name];
        if (v === undefined) continue;
        pairs.push([labelNameFor(name), String(v).slice(0, MAX_LABEL_VALUE_LENGTH)]);
      }
      // Sorted by the written name, so one label set is always one series.
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      key = labelText(pairs);
    }
    let series = this.#series.get(key);
    if (series === undefined) {
      if (this.#series.size >= this.#maxSeries) {
        this.#overflowed++;
        key = 'overflow="true"';
        series = this.#series.get(key);
      }
      if (series === undefined) {
        series = { labels: key, value: 0 };
        if (this.type === 'histogram') series.histogram = new LatencyHistogram();
        this.#series.set(key, series);
      }
    }
    series.value++;
    series.histogram?.record(durationMs as number);
    return true;
  }

  /** Writes the family; yields after every 8 series so the caller can slice the work. */
  *write(writer: ExpositionWriter): Generator<void> {
    writer.text(`# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`);
    let n = 0;
    for (const s of this.#series.values()) {
      if (s.histogram !== undefined) writer.histogram(this.name, s.labels, s.histogram);
      else writer.text(`${this.name}${s.labels === '' ? '' : `{${s.labels}}`} ${formatValue(s.value)}\n`);
      if ((++n & 7) === 0) yield;
    }
  }

  /** JSON view: label text → count (and percentiles for histograms). */
  json(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.#series.values()) {
      const h = s.histogram;
      out[s.labels] =
        h === undefined
          ? s.value
          : { count: s.value, p50Ms: h.quantile(0.5), p99Ms: h.quantile(0.99), maxMs: h.max };
    }
    return out;
  }
}
