/**
 * The fields of the design's `getStats()`, under the design's names and
 * meanings, as numbers (the design returned strings such as `'12.34ms'`,
 * `'0.50%'`, `'42s'`; the unit is the design's wherever the name is the
 * design's). Part of every {@link PerformanceStats}.
 *
 * | field | design | here |
 * | --- | --- | --- |
 * | `requestCount` | requests recorded with `recordRequest()` | the same: finished + in flight |
 * | `errorsCount` | responses with status ≥ 400 | responses with status ≥ `errorStatusMin` (500 by default; pass `errorStatusMin: 400` for the design's count) or invalid |
 * | `errorRate` | `'0.50%'` | `0.5`: percent of finished requests |
 * | `avgResponseTime`, `p95ResponseTime`, `p99ResponseTime` | `'12.34ms'` over the last 1,000 responses | ms over the sliding window (`windowMs`, 5 min), 0 when none |
 * | `requestsPerSecond` | `'3.21'` since start | over the sliding window |
 * | `statusCodes` | count per status code | the same (`invalid` for codes outside 100..599) |
 * | `uptime` | `'42s'` | `42.3`: seconds |
 *
 * @example
 * ```ts
 * const { requestCount, errorRate, p95ResponseTime, uptime } = monitor.getStats();
 * console.log(`${requestCount} requests, ${errorRate.toFixed(2)}% errors, p95 ${p95ResponseTime} ms, up ${uptime.toFixed(0)} s`);
 * ```
 */
export interface DesignStats {
  /** Requests seen: finished, plus in flight (the design counted at `recordRequest()`). */
  requestCount: number;
  /** Error responses since start (status ≥ `errorStatusMin`, or invalid). */
  errorsCount: number;
  /** Percentage (0..100) of finished requests that were errors, as the design's `'0.50%'`; see `errorRatio` for 0..1. */
  errorRate: number;
  /** errors / finished requests, 0..1. */
  errorRatio: number;
  /** Mean response time over the window, ms (0 when none). */
  avgResponseTime: number;
  /** 95th percentile response time over the window, ms (0 when none). */
  p95ResponseTime: number;
  /** 99th percentile response time over the window, ms (0 when none). */
  p99ResponseTime: number;
  /** Requests per second over the window. */
  requestsPerSecond: number;
  /** Responses per status code since start (`invalid` for codes outside 100..599). */
  statusCodes: Record<string, number>;
  /** Seconds since the monitor was created. */
  uptime: number;
}

/**
 * @internal The design's fields from the monitor's own figures.
 *
 * @example
 * ```ts
 * const design = designStats({ total: 10, inFlight: 1, errors: 1, average: 3, p95: 9, p99: 12, requestsPerSecond: 2, statusCodes: {}, uptimeMs: 5000 });
 * ```
 */
export function designStats(figures: {
  total: number;
  inFlight: number;
  errors: number;
  average: number | null;
  p95: number | null;
  p99: number | null;
  requestsPerSecond: number;
  statusCodes: Record<string, number>;
  uptimeMs: number;
}): DesignStats {
  const ratio = figures.total === 0 ? 0 : figures.errors / figures.total;
  return {
    requestCount: figures.total + figures.inFlight,
    errorsCount: figures.errors,
    errorRate: ratio * 100,
    errorRatio: ratio,
    avgResponseTime: figures.average ?? 0,
    p95ResponseTime: figures.p95 ?? 0,
    p99ResponseTime: figures.p99 ?? 0,
    requestsPerSecond: figures.requestsPerSecond,
    statusCodes: figures.statusCodes,
    uptime: figures.uptimeMs / 1000,
  };
}
