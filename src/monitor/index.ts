export { cacheMetricMappings, type ObserveCacheOptions } from './cache-metrics.js';
export { CLIENT_METRIC_MAPPINGS } from './client-metrics.js';
export type { DesignStats } from './design-stats.js';
export type { EventLoopStats } from './event-loop-health.js';
export type { EventLabelValue, EventMetricMapping } from './event-metrics.js';
export {
  type ExponentialBuckets,
  type ExponentialHistogramPoint,
  toExponentialHistogram,
} from './exponential-histogram.js';
export { expressRoute, type HttpTrackingOptions } from './http-tracking.js';
export {
  HISTOGRAM_RELATIVE_ACCURACY,
  HISTOGRAM_SCALE,
  LatencyHistogram,
  type LatencyHistogramSnapshot,
  MAX_RECORDED_MS,
} from './latency-histogram.js';
export type { ObserveErrorEvent, PerformanceMonitorEvents } from './monitor-events.js';
export {
  DEFAULT_BUCKETS_MS,
  PERFORMANCE_MONITOR_DEFAULTS,
  type PerformanceMonitorOptions,
} from './monitor-options.js';
export { PerformanceMonitor } from './performance-monitor.js';
export type { LatencyStats, PerformanceReport, PerformanceStats, WindowStats } from './performance-stats.js';
export { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
export type { RequestLabels } from './request-labels.js';
export { RequestSeries } from './request-series.js';
export {
  SLIDING_WINDOW_DEFAULTS,
  SlidingWindowHistogram,
  type SlidingWindowHistogramOptions,
} from './sliding-window-histogram.js';
