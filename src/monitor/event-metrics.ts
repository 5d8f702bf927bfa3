import { LatencyHistogram } from './latency-histogram.js';
import {
  type ExpositionWriter,
  escapeHelp,
  formatValue,
  labelText,
  sanitizeLabelName,
} from './prometheus-text.js';

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
  /** Labels of the event. Keep values bounded (outcomes, service names); series are capped. */
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
  readonly #series = new Map<string, { labels: string; value: number; histogram?: LatencyHistogram }>();
  readonly #maxSeries: number;
  #overflowed = 0;

  constructor(name: string, help: string, type: 'counter' | 'histogram', maxSeries: number) {
    this.name = name;
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

  add(labels: Record<string, EventLabelValue> | undefined, durationMs: number | undefined): void {
    let key = '';
    if (labels !== undefined && labels !== null && typeof labels === 'object') {
      const pairs: Array<[string, string]> = [];
      for (const name of Object.keys(labels).sort()) {
        const v = labels[name];
        if (v === undefined) continue;
        pairs.push([sanitizeLabelName(name), String(v).slice(0, 256)]);
      }
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
