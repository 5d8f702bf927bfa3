import { type DesignStats, designStats } from './design-stats.js';
import type { EventLoopHealth, EventLoopStats } from './event-loop-health.js';
import { LatencyHistogram } from './latency-histogram.js';
import { statusCodeKey } from './request-labels.js';
import type { SeriesTable } from './series-table.js';

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
  eventLoop: EventLoopStats;
}

/** @internal What `getStats()` reads besides the series table. */
export interface StatsInputs {
  /** The monitor's clock now. */
  readonly now: number;
  /** The monitor's clock at start. */
  readonly startedAt: number;
  readonly inFlight: number;
  readonly aborted: number;
  readonly eventLoop: EventLoopHealth;
}

/**
 * @internal The figures of `getStats()`: counts since start from the
 * table's totals, latencies and rate over its window, per-route figures
 * merged from every series of the route.
 */
export function performanceStats(table: SeriesTable, inputs: StatsInputs): PerformanceStats {
  const { now, startedAt } = inputs;
  const covered = table.window.coveredMs(now);
  const e = table.errorWindow.snapshot(now);
  const windowErrors = e.count + e.invalid;
  const w = table.window.snapshot(now);
  const windowRequests = w.count + w.invalid;
  const windowStats = latencyStats(w, windowErrors);
  const requestsPerSecond = covered > 0 ? (windowRequests * 1000) / covered : 0;
  const statusCodes: Record<string, number> = {};
  const counts = table.statusCounts;
  for (let s = 100; s < counts.length; s++) {
    const c = counts[s]!;
    if (c === 0) continue;
    // Past the series cap only the status class is kept: counted as `2xx`, `5xx`...
    const key = statusCodeKey(s);
    statusCodes[key] = (statusCodes[key] ?? 0) + c;
  }
  const routes: Record<string, LatencyStats> = {};
  const byRoute = new Map<string, { h: LatencyHistogram; errors: number }>();
  for (const series of table.allSeries()) {
    let agg = byRoute.get(series.route);
    if (agg === undefined) {
      agg = { h: new LatencyHistogram(), errors: 0 };
      byRoute.set(series.route, agg);
    }
    agg.h.merge(series.histogram);
    if (series.isError) agg.errors += series.histogram.count + series.histogram.invalid;
  }
  for (const [route, agg] of byRoute) routes[route] = latencyStats(agg.h, agg.errors);
  return {
    ...designStats({
      total: table.total,
      inFlight: inputs.inFlight,
      errors: table.errors,
      average: windowStats.averageResponseTimeMs,
      p95: windowStats.p95Ms,
      p99: windowStats.p99Ms,
      requestsPerSecond,
      statusCodes,
      uptimeMs: now - startedAt,
    }),
    totalRequests: table.total,
    errors: table.errors,
    averageResponseTimeMs: windowStats.averageResponseTimeMs,
    p50Ms: windowStats.p50Ms,
    p95Ms: windowStats.p95Ms,
    p99Ms: windowStats.p99Ms,
    p999Ms: windowStats.p999Ms,
    uptimeMs: now - startedAt,
    inFlight: inputs.inFlight,
    aborted: inputs.aborted,
    invalidSamples: table.invalid,
    window: { ...windowStats, durationMs: covered, requestsPerSecond },
    routes,
    eventLoop: inputs.eventLoop.stats(),
  };
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
