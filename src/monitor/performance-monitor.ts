import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DistributedCache } from '../cache/distributed-cache.js';
import type { DistributedCacheEvents } from '../cache/events.js';
import type { ServiceClient } from '../client/service-client.js';
import type { ServiceClientEvents } from '../client/service-client-events.js';
import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { type TimerHandle, unrefInterval } from '../internal/timers.js';
import { durationOption } from '../internal/validate.js';
import type { Logger } from '../types.js';
import { cacheMetricMappings, type ObserveCacheOptions } from './cache-metrics.js';
import { CLIENT_METRIC_MAPPINGS } from './client-metrics.js';
import { type DesignStats, designStats } from './design-stats.js';
import type { EventLabelValue, EventMetricFamily, EventMetricMapping } from './event-metrics.js';
import {
  checkTrackingOptions,
  type HttpTrackingOptions,
  metricsRequestHandler,
  trackHttpRequest,
} from './http-tracking.js';
import { LatencyHistogram } from './latency-histogram.js';
import { metricPrefixProblem } from './metric-names.js';
import { checkMonitorOptions, checkRequestLabels, refuseExtraArguments } from './monitor-options.js';
import { newEventFamilies, resolveObserveMapping } from './observe-mapping.js';
import { ExposedBuckets, ExpositionWriter, escapeHelp, formatValue, labelText } from './prometheus-text.js';
import { RequestSeries } from './request-series.js';
import { SlidingWindowHistogram } from './sliding-window-histogram.js';

/**
 * Options of {@link PerformanceMonitor}. All optional; see
 * {@link PERFORMANCE_MONITOR_DEFAULTS}.
 *
 * @example
 * ```ts
 * const options: PerformanceMonitorOptions = { windowMs: 60_000, maxSeries: 500, reportIntervalMs: 60_000, logger };
 * ```
 */
export interface PerformanceMonitorOptions {
  /** Length of the sliding window behind the percentiles and rate of `getStats()`, ms. @default 300_000 */
  windowMs?: number;
  /** Sub-histograms the window rotates through (2..60). @default 5 */
  windowSlots?: number;
  /** Cap on series per metric; further label combinations go to one `__overflow__` series. @default 2000 */
  maxSeries?: number;
  /** Responses with a status at or above this count as errors (invalid statuses always do). @default 500 */
  errorStatusMin?: number;
  /** Prefix of every metric name (`myapp_` gives `myapp_http_request_duration_seconds`). @default '' */
  metricPrefix?: string;
  /** `le` bounds (ms) of exposed histograms, each snapped up to an internal bucket bound (≤1.9% above). @default DEFAULT_BUCKETS_MS */
  bucketsMs?: readonly number[];
  /** Measure event-loop delay with `perf_hooks.monitorEventLoopDelay`. @default true */
  eventLoop?: boolean;
  /** Sampling resolution of the event-loop delay monitor, ms. @default 20 */
  eventLoopResolutionMs?: number;
  /** Call {@link onReport} and/or `logger.info` with `getStats()` this often, ms; 0 turns reporting off. @default 0 */
  reportIntervalMs?: number;
  /** Receives the stats every `reportIntervalMs`. @default undefined */
  onReport?: ((stats: PerformanceStats) => void) | undefined;
  /** Receives the stats (`info`) every `reportIntervalMs`, and listener failures (`error`). @default undefined */
  logger?: Logger | undefined;
  /** Monotonic clock in ms (fractional). @default performance.now */
  now?: () => number;
  /** Time budget of one synchronous slice of a scrape, ms; the scrape yields to the event loop between slices. @default 2 */
  scrapeSliceMs?: number;
}

/**
 * Default `le` bounds of exposed histograms, ms (0.25 ms .. 60 s).
 *
 * @example
 * ```ts
 * new PerformanceMonitor({ bucketsMs: [...DEFAULT_BUCKETS_MS, 120_000] });
 * ```
 */
export const DEFAULT_BUCKETS_MS: readonly number[] = Object.freeze([
  0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
]);

/**
 * Defaults of {@link PerformanceMonitorOptions}.
 *
 * @example
 * ```ts
 * const windowMinutes = PERFORMANCE_MONITOR_DEFAULTS.windowMs / 60_000; // 5
 * ```
 */
export const PERFORMANCE_MONITOR_DEFAULTS: Readonly<
  Required<Omit<PerformanceMonitorOptions, 'onReport' | 'logger' | 'now'>>
> = Object.freeze({
  windowMs: 300_000,
  windowSlots: 5,
  maxSeries: 2000,
  errorStatusMin: 500,
  metricPrefix: '',
  bucketsMs: DEFAULT_BUCKETS_MS,
  eventLoop: true,
  eventLoopResolutionMs: 20,
  reportIntervalMs: 0,
  scrapeSliceMs: 2,
});

/**
 * Labels of one request. `route` must be a route template (`/users/:id`), never the raw path.
 *
 * @example
 * ```ts
 * monitor.recordResponse(start, 200, { method: 'GET', route: '/users/:id' });
 * ```
 */
export interface RequestLabels {
  /** HTTP method; unknown methods are labelled `OTHER`. @default 'OTHER' */
  method?: string | undefined;
  /** Route template. @default 'unknown' */
  route?: string | undefined;
}

/**
 * Latency figures over a set of requests, ms. `null` when there were none.
 *
 * @example
 * ```ts
 * const users: LatencyStats | undefined = monitor.getStats().routes['/users/:id'];
 * ```
 */
export interface LatencyStats {
  /** Requests counted. */
  requests: number;
  /** Of which errors (status ≥ `errorStatusMin`, or invalid). */
  errors: number;
  /** Percentage of requests that were errors, 0..100 (0 when none), as the design's `errorRate`. */
  errorRate: number;
  /** errors / requests, 0..1 (0 when none). */
  errorRatio: number;
  /** Mean duration, ms. */
  averageResponseTimeMs: number | null;
  /** Median, ms. */
  p50Ms: number | null;
  /** 95th percentile, ms. */
  p95Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** 99.9th percentile, ms. */
  p999Ms: number | null;
  /** Largest, ms. */
  maxMs: number | null;
}

/**
 * The sliding window's figures in {@link PerformanceStats}.
 *
 * @example
 * ```ts
 * const { durationMs, requests } = monitor.getStats().window;
 * ```
 */
export interface WindowStats extends LatencyStats {
  /** How much time the window covers now, ms (at most `windowMs`). */
  durationMs: number;
  /** Requests per second over the window. */
  requestsPerSecond: number;
}

/**
 * What {@link PerformanceMonitor.toJSON} (and `/metrics?format=json`) returns.
 *
 * @example
 * ```ts
 * const report: PerformanceReport = monitor.toJSON();
 * ```
 */
export interface PerformanceReport extends PerformanceStats {
  /** Metrics from {@link PerformanceMonitor.observe}: metric name → label text → count (or count and percentiles). */
  events: Record<string, unknown>;
}

/**
 * What {@link PerformanceMonitor.getStats} returns: every figure a number.
 * The design's fields come first, under the design's names and meanings
 * ({@link DesignStats}: `requestCount`, `errorsCount`, `errorRate` in
 * percent, `avgResponseTime`... in ms, `uptime` in seconds); scaleout's own
 * carry their unit in the name. Counts (`totalRequests`, `errors`,
 * `errorRate`, `statusCodes`, `routes`) are since the monitor started;
 * latencies and `requestsPerSecond` cover the sliding window
 * (`window.durationMs`).
 *
 * @example
 * ```ts
 * const { p99Ms, requestsPerSecond, errorRate } = monitor.getStats();
 * ```
 */
export interface PerformanceStats extends DesignStats {
  /** Requests finished since start. */
  totalRequests: number;
  /** Error responses since start (the same as `errorsCount`). */
  errors: number;
  /** Mean duration over the window, ms. */
  averageResponseTimeMs: number | null;
  /** Median over the window, ms. */
  p50Ms: number | null;
  /** 95th percentile over the window, ms. */
  p95Ms: number | null;
  /** 99th percentile over the window, ms. */
  p99Ms: number | null;
  /** 99.9th percentile over the window, ms. */
  p999Ms: number | null;
  /** Milliseconds since the monitor was created. */
  uptimeMs: number;
  /** Requests started and not yet finished. */
  inFlight: number;
  /** Requests whose client went away before the response finished (recorded as status 499). */
  aborted: number;
  /** Durations refused as not finite non-negative numbers (the requests still count). */
  invalidSamples: number;
  /** The sliding window's own figures. */
  window: WindowStats;
  /** Per route template, since start. */
  routes: Record<string, LatencyStats>;
  /** Event-loop health; `null` figures when `eventLoop` is off. */
  eventLoop: {
    /** Median event-loop delay since start, ms. */
    delayP50Ms: number | null;
    /** 99th percentile event-loop delay since start, ms. */
    delayP99Ms: number | null;
    /** Largest event-loop delay since start, ms. */
    delayMaxMs: number | null;
    /** Event-loop utilisation (0..1) since the previous `getStats()` or scrape. */
    utilization: number;
  };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'OTHER'];
const METHOD_INDEX = new Map(METHODS.map((m, i) => [m, i]));
const OTHER_METHOD = METHODS.length - 1;
const INVALID_STATUS = 600;
/** Status-count slots 601..606: overflow series per status class (1xx..5xx, invalid). */
const OVERFLOW_STATUS = 601;
const OVERFLOW = '__overflow__';
const MAX_ROUTE_LENGTH = 200;

function methodIndex(method: unknown): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    default:
      if (typeof method !== 'string') return OTHER_METHOD;
      return METHOD_INDEX.get(method) ?? METHOD_INDEX.get(method.toUpperCase()) ?? OTHER_METHOD;
  }
}

function statusIndex(status: unknown): number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599
    ? status
    : INVALID_STATUS;
}

function routeLabel(route: unknown): string {
  if (typeof route !== 'string' || route.length === 0) return 'unknown';
  return route.length > MAX_ROUTE_LENGTH ? route.slice(0, MAX_ROUTE_LENGTH) : route;
}

/**
 * Anything with `on(event, listener)`: scaleout's typed emitters, a node
 * EventEmitter. `on` may return an unsubscribe function; otherwise `off` or
 * `removeListener` is used to unsubscribe.
 *
 * @example
 * ```ts
 * const source: EventSourceLike = new EventEmitter();
 * ```
 */
export interface EventSourceLike {
  /** Subscribes `listener` to `event`; may return an unsubscribe function. */
  on(event: never, listener: never): unknown;
  /** Unsubscribes (used when `on` returned no function). */
  off?(event: never, listener: never): unknown;
  /** Unsubscribes (node EventEmitter's older name). */
  removeListener?(event: never, listener: never): unknown;
}

type Subscribe = (event: string, listener: (payload: unknown) => void) => unknown;

/**
 * Request latency, errors, throughput and event-loop health for a Node
 * service, in constant memory per series, exposed to Prometheus without
 * blocking the event loop.
 *
 * Durations go into {@link LatencyHistogram}s (≤1% relative error at every
 * percentile, about 4 KB each): one per (method, route template, status) series,
 * capped at `maxSeries` with `__overflow__` series beyond, plus a sliding
 * window for "the last five minutes". Nothing prints by itself: pass
 * `onReport` or a `logger` with `reportIntervalMs` to be told.
 *
 * @example
 * ```ts
 * const monitor = new PerformanceMonitor();
 * const server = http.createServer((req, res) => {
 *   if (req.url === '/metrics') return monitor.handler()(req, res);
 *   monitor.track(req, res, { route: () => '/hello' });
 *   res.end('hi');
 * });
 * // later
 * monitor.getStats().p99Ms;
 * await monitor.close();
 * ```
 */
export class PerformanceMonitor {
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #window: SlidingWindowHistogram;
  readonly #errorWindow: SlidingWindowHistogram;
  readonly #maxSeries: number;
  readonly #errorStatusMin: number;
  readonly #buckets: ExposedBuckets;
  readonly #durationName: string;
  readonly #prefix: string;
  readonly #scrapeSliceMs: number;
  readonly #logger: Logger | undefined;
  readonly #onReport: ((stats: PerformanceStats) => void) | undefined;
  /** route → method index → the series of that route and method (a short list, scanned by status). */
  readonly #routes = new Map<string, Array<RequestSeries[] | undefined>>();
  readonly #series: RequestSeries[] = [];
  readonly #overflowSeries: Array<RequestSeries | undefined> = new Array(6);
  readonly #statusCounts = new Float64Array(OVERFLOW_STATUS + 6);
  readonly #eventFamilies = new Map<string, EventMetricFamily>();
  readonly #unsubscribers = new Set<() => void>();
  readonly #timers: TimerHandle[] = [];
  readonly #loopDelay: IntervalHistogram | undefined;
  /** The sampling interval, ns: the raw histogram measures it plus the delay. */
  #loopResolutionNs = 0;
  #elu: EventLoopUtilization;
  #total = 0;
  #errors = 0;
  #inFlight = 0;
  #aborted = 0;
  #invalid = 0;
  #overflowed = 0;
  /** The series of the last HTTP response recorded, and its labels as given. */
  #lastHttp: RequestSeries | undefined;
  #lastHttpRoute = '';
  #lastHttpMethod: unknown;
  #lastHttpStatus = 0;
  /** Events `observe()` could not record: a mapping threw or returned unusable labels. */
  #observeErrors = 0;
  #closed = false;

  constructor(options: PerformanceMonitorOptions = {}) {
    checkMonitorOptions(options);
    const d = PERFORMANCE_MONITOR_DEFAULTS;
    // Bound once: a request reads the clock three times.
    this.#now = options.now ?? performance.now.bind(performance);
    if (typeof this.#now !== 'function') {
      throw new InvalidOptionsError('now must be a function', { option: 'now' });
    }
    const windowMs = durationOption('windowMs', options.windowMs ?? d.windowMs);
    const slots = options.windowSlots ?? d.windowSlots;
    if (!Number.isInteger(slots) || slots < 2 || slots > 60) {
      throw new InvalidOptionsError('windowSlots must be an integer in [2, 60]', { option: 'windowSlots' });
    }
    this.#startedAt = this.#now();
    this.#window = new SlidingWindowHistogram({ windowMs, slots }, this.#startedAt);
    this.#errorWindow = new SlidingWindowHistogram({ windowMs, slots }, this.#startedAt);
    const maxSeries = options.maxSeries ?? d.maxSeries;
    if (!Number.isInteger(maxSeries) || maxSeries < 1 || maxSeries > 1_000_000) {
      throw new InvalidOptionsError('maxSeries must be an integer in [1, 1000000]', { option: 'maxSeries' });
    }
    this.#maxSeries = maxSeries;
    const errorStatusMin = options.errorStatusMin ?? d.errorStatusMin;
    if (!Number.isInteger(errorStatusMin) || errorStatusMin < 100 || errorStatusMin > 600) {
      throw new InvalidOptionsError('errorStatusMin must be an integer in [100, 600]', {
        option: 'errorStatusMin',
      });
    }
    this.#errorStatusMin = errorStatusMin;
    const prefix = options.metricPrefix ?? d.metricPrefix;
    const prefixProblem = typeof prefix === 'string' ? metricPrefixProblem(prefix) : 'it must be a string';
    if (prefixProblem !== undefined) {
      throw new InvalidOptionsError(`metricPrefix cannot prefix metric names: ${prefixProblem}`, {
        option: 'metricPrefix',
      });
    }
    this.#prefix = prefix;
    this.#durationName = `${prefix}http_request_duration_seconds`;
    const bucketsMs = options.bucketsMs ?? d.bucketsMs;
    if (
      !Array.isArray(bucketsMs) ||
      bucketsMs.length === 0 ||
      bucketsMs.length > 100 ||
      !bucketsMs.every((b) => typeof b === 'number' && Number.isFinite(b) && b > 0)
    ) {
      throw new InvalidOptionsError('bucketsMs must be 1..100 positive finite numbers', {
        option: 'bucketsMs',
      });
    }
    this.#buckets = new ExposedBuckets(bucketsMs);
    const slice = options.scrapeSliceMs ?? d.scrapeSliceMs;
    if (typeof slice !== 'number' || !(slice > 0 && slice <= 1000)) {
      throw new InvalidOptionsError('scrapeSliceMs must be a number in (0, 1000]', {
        option: 'scrapeSliceMs',
      });
    }
    this.#scrapeSliceMs = slice;
    this.#logger = options.logger;
    this.#onReport = options.onReport;
    if (this.#onReport !== undefined && typeof this.#onReport !== 'function') {
      throw new InvalidOptionsError('onReport must be a function', { option: 'onReport' });
    }
    const reportIntervalMs = options.reportIntervalMs ?? d.reportIntervalMs;
    if (reportIntervalMs !== 0) durationOption('reportIntervalMs', reportIntervalMs);
    if (options.eventLoop ?? d.eventLoop) {
      const resolution = durationOption(
        'eventLoopResolutionMs',
        options.eventLoopResolutionMs ?? d.eventLoopResolutionMs,
      );
      this.#loopDelay = monitorEventLoopDelay({ resolution });
      this.#loopResolutionNs = resolution * 1e6;
      this.#loopDelay.enable();
    }
    this.#elu = performance.eventLoopUtilization();
    // Rotate the windows even when no request arrives, so bound series never read the clock.
    const slotMs = windowMs / slots;
    this.#timers.push(unrefInterval(() => this.#advance(), Math.max(1, Math.floor(slotMs))));
    if (reportIntervalMs > 0) this.#timers.push(unrefInterval(() => this.#report(), reportIntervalMs));
  }

  /**
   * Marks the start of a request; returns its start time (monotonic ms, on
   * the monitor's clock) for {@link recordResponse}, as in the design.
   *
   * @example
   * ```ts
   * const start = monitor.recordRequest();
   * const ms = monitor.recordResponse(start, 200);
   * ```
   */
  recordRequest(): number {
    this.#inFlight++;
    return this.#now();
  }

  /** Milliseconds since `start` (a value from {@link recordRequest}) on the monitor's clock; `NaN` for a start that is not a number. */
  elapsedMs(start: number): number {
    return typeof start === 'number' ? this.#now() - start : Number.NaN;
  }

  /**
   * Records the end of a request started at `start` (from
   * {@link recordRequest}) with its status code and labels, and returns its
   * response time in ms, as the design's does (its middleware sets
   * `X-Response-Time` from it). Bad values (a start that is not a number, a
   * status outside 100..599) are recorded as such, never thrown (the
   * result is then `NaN` for a bad start); a `labels` that is not a plain
   * object with `method`/`route` throws `InvalidOptionsError`, recording
   * nothing.
   *
   * @example
   * ```ts
   * const start = monitor.recordRequest();
   * res.setHeader('X-Response-Time', `${monitor.recordResponse(start, 200, { route: '/users/:id' })}ms`);
   * ```
   */
  recordResponse(start: number, statusCode: number, labels?: RequestLabels): number {
    checkRequestLabels(labels);
    if (this.#inFlight > 0) this.#inFlight--;
    const now = this.#now();
    this.#window.advance(now);
    this.#errorWindow.advance(now);
    const duration = typeof start === 'number' ? now - start : Number.NaN;
    this.#lookup(labels?.method, labels?.route, statusCode).record(duration);
    return duration;
  }

  /**
   * The HTTP tracking's record of one response: the labels come from
   * node:http (`req.method`, a route template), so there is no labels
   * object to build or check. `statusCode` undefined: the client went away
   * first (recorded as aborted, status 499).
   * @internal
   */
  recordHttpResponse(start: number, statusCode: number | undefined, method: unknown, route: string): void {
    if (statusCode === undefined) this.#aborted++;
    if (this.#inFlight > 0) this.#inFlight--;
    const now = this.#now();
    this.#window.advance(now);
    this.#errorWindow.advance(now);
    const status = statusCode ?? 499;
    let series = this.#lastHttp;
    if (
      series === undefined ||
      route !== this.#lastHttpRoute ||
      method !== this.#lastHttpMethod ||
      status !== this.#lastHttpStatus
    ) {
      const overflowed = this.#overflowed;
      series = this.#lookup(method, route, status);
      // Series are never dropped: the last one found answers the next
      // response with the same labels (most of a busy route's traffic).
      // Overflow lookups are counted each time, so they are not kept.
      if (this.#overflowed === overflowed) {
        this.#lastHttp = series;
        this.#lastHttpRoute = route;
        this.#lastHttpMethod = method;
        this.#lastHttpStatus = status;
      }
    }
    series.record(now - start);
  }

  /**
   * A pre-bound series for the hot path: recording into it skips every
   * label lookup. Returns the `__overflow__` series once `maxSeries` is reached.
   *
   * @example
   * ```ts
   * const ok = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
   * ok.record(3.2);
   * ```
   */
  bind(labels: RequestLabels & { status: number }): RequestSeries {
    checkRequestLabels(labels, true);
    return this.#lookup(labels.method, labels.route, labels.status);
  }

  /** @internal called by every RequestSeries.record. */
  onRecord(series: RequestSeries, index: number, durationMs: number): void {
    this.#total++;
    this.#statusCounts[series.statusIndex]!++;
    this.#window.recordAt(index, durationMs);
    if (series.isError) {
      this.#errors++;
      this.#errorWindow.recordAt(index, durationMs);
    }
  }

  /** @internal called by RequestSeries.record for an unusable duration. */
  onInvalid(series: RequestSeries): void {
    this.#total++;
    this.#invalid++;
    this.#statusCounts[series.statusIndex]!++;
    this.#window.recordInvalid();
    if (series.isError) {
      this.#errors++;
      this.#errorWindow.recordInvalid();
    }
  }

  #lookup(method: unknown, route: unknown, status: unknown): RequestSeries {
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
    if (this.#series.length >= this.#maxSeries) {
      this.#overflowed++;
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
    this.#series.push(series);
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

  #allSeries(): RequestSeries[] {
    const all = this.#series.slice();
    for (const s of this.#overflowSeries) if (s !== undefined) all.push(s);
    return all;
  }

  /**
   * Records `durationMs` for a request that ended as aborted by the client
   * (status 499).
   * @internal used by the HTTP tracking.
   */
  recordAborted(start: number, labels?: RequestLabels): void {
    this.#aborted++;
    this.recordResponse(start, 499, labels);
  }

  #advance(): void {
    const now = this.#now();
    this.#window.advance(now);
    this.#errorWindow.advance(now);
  }

  #report(): void {
    try {
      const stats = this.getStats();
      this.#onReport?.(stats);
      this.#logger?.info?.('performance stats', stats as unknown as Record<string, unknown>);
    } catch (err) {
      this.#logger?.error?.('performance report failed', { error: String(err) });
    }
  }

  /** The delay beyond the sampling interval, ns. */
  #loopDelayNs(raw: number): number {
    return Math.max(0, raw - this.#loopResolutionNs);
  }

  #utilization(): number {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, this.#elu);
    this.#elu = current;
    return Number.isFinite(delta.utilization) ? delta.utilization : 0;
  }

  /** The figures of the design's `getStats()`, as numbers; see {@link PerformanceStats}. */
  getStats(): PerformanceStats {
    const now = this.#now();
    const covered = this.#window.coveredMs(now);
    const e = this.#errorWindow.snapshot(now);
    const windowErrors = e.count + e.invalid;
    const w = this.#window.snapshot(now);
    const windowRequests = w.count + w.invalid;
    const windowStats = latencyStats(w, windowErrors);
    const requestsPerSecond = covered > 0 ? (windowRequests * 1000) / covered : 0;
    const statusCodes: Record<string, number> = {};
    for (let s = 100; s < this.#statusCounts.length; s++) {
      const c = this.#statusCounts[s]!;
      if (c === 0) continue;
      // Past the series cap only the status class is kept: counted as `2xx`, `5xx`...
      const key =
        s < INVALID_STATUS
          ? String(s)
          : s === INVALID_STATUS || s === OVERFLOW_STATUS + 5
            ? 'invalid'
            : `${s - INVALID_STATUS}xx`;
      statusCodes[key] = (statusCodes[key] ?? 0) + c;
    }
    const routes: Record<string, LatencyStats> = {};
    const byRoute = new Map<string, { h: LatencyHistogram; errors: number }>();
    for (const series of this.#allSeries()) {
      let agg = byRoute.get(series.route);
      if (agg === undefined) {
        agg = { h: new LatencyHistogram(), errors: 0 };
        byRoute.set(series.route, agg);
      }
      agg.h.merge(series.histogram);
      if (series.isError) agg.errors += series.histogram.count + series.histogram.invalid;
    }
    for (const [route, agg] of byRoute) routes[route] = latencyStats(agg.h, agg.errors);
    const loop = this.#loopDelay;
    const hasLoop = loop !== undefined && loop.count > 0;
    return {
      ...designStats({
        total: this.#total,
        inFlight: this.#inFlight,
        errors: this.#errors,
        average: windowStats.averageResponseTimeMs,
        p95: windowStats.p95Ms,
        p99: windowStats.p99Ms,
        requestsPerSecond,
        statusCodes,
        uptimeMs: now - this.#startedAt,
      }),
      totalRequests: this.#total,
      errors: this.#errors,
      averageResponseTimeMs: windowStats.averageResponseTimeMs,
      p50Ms: windowStats.p50Ms,
      p95Ms: windowStats.p95Ms,
      p99Ms: windowStats.p99Ms,
      p999Ms: windowStats.p999Ms,
      uptimeMs: now - this.#startedAt,
      inFlight: this.#inFlight,
      aborted: this.#aborted,
      invalidSamples: this.#invalid,
      window: { ...windowStats, durationMs: covered, requestsPerSecond },
      routes,
      eventLoop: {
        delayP50Ms: hasLoop ? this.#loopDelayNs(loop.percentile(50)) / 1e6 : null,
        delayP99Ms: hasLoop ? this.#loopDelayNs(loop.percentile(99)) / 1e6 : null,
        delayMaxMs: hasLoop ? this.#loopDelayNs(loop.max) / 1e6 : null,
        utilization: this.#utilization(),
      },
    };
  }

  /**
   * Subscribes to another primitive's events (a ServiceClient, a cache, any
   * `on(event, listener)` emitter) and turns each mapped event into a
   * counter or, with `durationMs`, a histogram named
   * `scaleout_<source>_<event>_total` / `..._duration_seconds`. Returns a
   * function that unsubscribes; `close()` unsubscribes everything.
   *
   * @example
   * ```ts
   * monitor.observe(cache, 'cache', {
   *   hit: {},
   *   miss: {},
   *   load: { durationMs: (e) => e.durationMs },
   * });
   * ```
   */
  observe<P extends Record<string, unknown>>(
    emitter: EventSourceLike,
    source: string,
    mapping: { [K in keyof P]?: EventMetricMapping<P[K]> },
  ): () => void {
    if (emitter === null || typeof emitter !== 'object' || typeof emitter.on !== 'function') {
      throw new InvalidArgumentError('observe() needs an object with on(event, listener)', {
        argument: 'emitter',
      });
    }
    // Every name is checked before anything is subscribed: a refused call changes nothing.
    const events = resolveObserveMapping(source, mapping, this.#prefix);
    const families = newEventFamilies(events, this.#eventFamilies, this.#prefix, this.#maxSeries);
    for (const [name, family] of families) this.#eventFamilies.set(name, family);
    const offs: Array<() => void> = [];
    try {
      this.#subscribeAll(emitter, source, events, offs);
    } catch (err) {
      for (const off of offs) off();
      throw err;
    }
    const unsubscribe = () => {
      if (!this.#unsubscribers.delete(unsubscribe)) return;
      for (const off of offs) off();
    };
    this.#unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  #subscribeAll(
    emitter: EventSourceLike,
    source: string,
    events: ReturnType<typeof resolveObserveMapping>,
    offs: Array<() => void>,
  ): void {
    for (const e of events) {
      const target = this.#eventFamilies.get(e.metric)!;
      const listener = (payload: unknown) => {
        try {
          const duration = e.durationMs === undefined ? undefined : e.durationMs(payload);
          if (target.add(e.labels?.(payload) as Record<string, EventLabelValue> | undefined, duration))
            return;
          this.#observeErrors++;
          this.#logger?.error?.('observe mapping returned unusable labels; event dropped', {
            source,
            event: e.event,
          });
        } catch (err) {
          this.#observeErrors++;
          this.#logger?.error?.('observe mapping threw', { source, event: e.event, error: String(err) });
        }
      };
      const event = e.event;
      const result = (emitter.on as Subscribe).call(emitter, event, listener);
      offs.push(() => {
        if (typeof result === 'function') (result as () => void)();
        else if (typeof emitter.off === 'function') (emitter.off as Subscribe).call(emitter, event, listener);
        else if (typeof emitter.removeListener === 'function') {
          (emitter.removeListener as Subscribe).call(emitter, event, listener);
        }
      });
    }
  }

  /**
   * Turns a `ServiceClient`'s events into metrics per upstream service:
   * attempts and their latency by outcome, retries by cause, breaker state
   * changes and retry-budget refusals (see {@link CLIENT_METRIC_MAPPINGS}
   * for the series). Returns a function that unsubscribes; `close()`
   * unsubscribes everything. Observe each client once.
   *
   * @example
   * ```ts
   * const inventory = new ServiceClient({ service: 'inventory', registry });
   * monitor.observeClient(inventory);
   * // scaleout_client_attempt_duration_seconds_bucket{outcome="success",service="inventory",le="0.005"} ...
   * ```
   */
  observeClient(client: { on: ServiceClient['on'] }): () => void;
  observeClient(client: { on: ServiceClient['on'] }, ...extra: unknown[]): () => void {
    refuseExtraArguments('monitor.observeClient()', extra);
    return this.observe<ServiceClientEvents>(client, 'client', CLIENT_METRIC_MAPPINGS);
  }

  /**
   * Turns a `DistributedCache`'s events into metrics: hits (by tier),
   * misses, stale serves, loader runs and their latency, errors, circuit
   * changes and L1 flushes, optionally per namespace (see
   * {@link cacheMetricMappings} for the series). Events are shared by a
   * cache and all its namespace views: observe the cache once, listing the
   * namespaces to break down by. Returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * monitor.observeCache(cache, { namespaces: ['users', 'products'] });
   * // scaleout_cache_hits_total{namespace="users",tier="l1"} 42
   * ```
   */
  observeCache(cache: { on: DistributedCache['on'] }, options: ObserveCacheOptions = {}): () => void {
    return this.observe<DistributedCacheEvents>(cache, 'cache', cacheMetricMappings(options));
  }

  /**
   * Tracks one HTTP request on node:http objects: records it when the
   * response finishes (or as aborted, status 499, when the client goes away
   * first) and sets `X-Response-Time`. The framework middlewares use this.
   */
  track(req: IncomingMessage, res: ServerResponse, options?: HttpTrackingOptions): void {
    checkTrackingOptions(options, 'monitor.track() options');
    trackHttpRequest(this, req, res, options);
  }

  /**
   * Connect-style middleware for node:http and Express: `(req, res, next)`.
   * The route label is Express's matched route template
   * (`req.baseUrl + req.route.path`), `options.route(req)`, or `unmatched`.
   *
   * @example
   * ```ts
   * app.use(monitor.middleware());
   * ```
   */
  middleware(
    options?: HttpTrackingOptions,
  ): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void {
    checkTrackingOptions(options, 'monitor.middleware() options');
    return (req, res, next) => {
      trackHttpRequest(this, req, res, options);
      next?.();
    };
  }

  /**
   * A `(req, res)` handler serving `/metrics`: Prometheus text, streamed in
   * slices that yield to the event loop; JSON stats with `?format=json` or
   * `Accept: application/json`.
   *
   * @example
   * ```ts
   * app.get('/metrics', monitor.handler());
   * ```
   */
  handler(): (req: IncomingMessage, res: ServerResponse) => void;
  handler(...extra: unknown[]): (req: IncomingMessage, res: ServerResponse) => void {
    refuseExtraArguments('monitor.handler()', extra);
    return (req, res) => metricsRequestHandler(this, req, res);
  }

  /**
   * The Prometheus text exposition as UTF-8 chunks, produced in slices of at
   * most `scrapeSliceMs` of synchronous work with a yield to the event loop
   * (`setImmediate`) between slices. Each series is written whole inside one
   * slice, so it is consistent.
   */
  async *exposition(): AsyncGenerator<Buffer> {
    const sliceMs = this.#scrapeSliceMs;
    const writer = new ExpositionWriter(this.#buckets);
    let sliceStart = this.#now();
    writer.text(this.#gaugesText());
    const name = this.#durationName;
    writer.text(
      `# HELP ${name} Duration of HTTP requests by method, route template and status.\n# TYPE ${name} histogram\n`,
    );
    const series = this.#allSeries();
    for (let i = 0; i < series.length; i++) {
      const s = series[i]!;
      writer.histogram(name, s.labelText, s.histogram);
      if ((i & 7) === 7 && this.#now() - sliceStart >= sliceMs) {
        yield* writer.take();
        await yieldToLoop();
        sliceStart = this.#now();
      }
    }
    for (const family of this.#eventFamilies.values()) {
      for (const _ of family.write(writer)) {
        if (this.#now() - sliceStart >= sliceMs) {
          yield* writer.take();
          await yieldToLoop();
          sliceStart = this.#now();
        }
      }
    }
    yield* writer.take();
  }

  /**
   * The whole Prometheus text exposition as one string (built with
   * {@link exposition}, so it yields while it works; the final decode of a
   * very large exposition is one synchronous step: prefer {@link handler},
   * which streams).
   */
  async metrics(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const part of this.exposition()) parts.push(part);
    return Buffer.concat(parts).toString('utf8');
  }

  /** JSON-friendly stats: {@link getStats} plus the observed event metrics. */
  toJSON(): PerformanceReport {
    const events: Record<string, unknown> = {};
    for (const [name, family] of this.#eventFamilies) events[name] = family.json();
    return { ...this.getStats(), events };
  }

  #gaugesText(): string {
    const p = this.#prefix;
    const lines: string[] = [];
    const gauge = (name: string, help: string, type: 'gauge' | 'counter', value: number) => {
      lines.push(`# HELP ${p}${name} ${escapeHelp(help)}`, `# TYPE ${p}${name} ${type}`);
      lines.push(`${p}${name} ${formatValue(value)}`);
    };
    gauge('http_requests_in_flight', 'HTTP requests started and not finished.', 'gauge', this.#inFlight);
    gauge(
      'http_requests_aborted_total',
      'HTTP requests whose client went away before the response finished.',
      'counter',
      this.#aborted,
    );
    gauge(
      'scaleout_monitor_invalid_samples_total',
      'Durations refused as not finite non-negative numbers.',
      'counter',
      this.#invalid,
    );
    gauge(
      'scaleout_monitor_overflow_total',
      'Records folded into the __overflow__ series because maxSeries was reached.',
      'counter',
      this.#overflowed,
    );
    gauge(
      'scaleout_monitor_observe_errors_total',
      'Events observe() dropped: a mapping threw or returned unusable labels.',
      'counter',
      this.#observeErrors,
    );
    gauge('scaleout_monitor_series', 'Request-duration series held.', 'gauge', this.#series.length);
    gauge(
      'scaleout_monitor_uptime_seconds',
      'Seconds since the monitor started.',
      'gauge',
      (this.#now() - this.#startedAt) / 1000,
    );
    const loop = this.#loopDelay;
    if (loop !== undefined && loop.count > 0) {
      gauge(
        'nodejs_eventloop_lag_p50_seconds',
        'Median event-loop delay.',
        'gauge',
        loop.percentile(50) / 1e9,
      );
      gauge(
        'nodejs_eventloop_lag_p99_seconds',
        '99th percentile event-loop delay.',
        'gauge',
        loop.percentile(99) / 1e9,
      );
      gauge('nodejs_eventloop_lag_max_seconds', 'Largest event-loop delay.', 'gauge', loop.max / 1e9);
    }
    gauge(
      'nodejs_eventloop_utilization_ratio',
      'Event-loop utilisation since the previous scrape or getStats().',
      'gauge',
      this.#utilization(),
    );
    return `${lines.join('\n')}\n`;
  }

  /** Stops the timers, the event-loop monitor and every `observe()` subscription. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) t.cancel();
    this.#loopDelay?.disable();
    for (const off of [...this.#unsubscribers]) off();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function latencyStats(h: LatencyHistogram, errors: number): LatencyStats {
  const requests = h.count + h.invalid;
  const has = h.count > 0;
  return {
    requests,
    errors,
    errorRate: requests === 0 ? 0 : (errors / requests) * 100,
    errorRatio: requests === 0 ? 0 : errors / requests,
    averageResponseTimeMs: has ? h.mean() : null,
    p50Ms: has ? h.quantile(0.5) : null,
    p95Ms: has ? h.quantile(0.95) : null,
    p99Ms: has ? h.quantile(0.99) : null,
    p999Ms: has ? h.quantile(0.999) : null,
    maxMs: has ? h.max : null,
  };
}
