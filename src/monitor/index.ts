export { cacheMetricMappings, type ObserveCacheOptions } from './cache-metrics.js';
export { CLIENT_METRIC_MAPPINGS } from './client-metrics.js';
export type { DesignStats } from './design-stats.js';
export type { EventLabelValue, EventMetricMapping } from './event-metrics.js';
export { expressRoute, type HttpTrackingOptions } from './http-tracking.js';
export {
  HISTOGRAM_RELATIVE_ACCURACY,
  LatencyHistogram,
  type LatencyHistogramSnapshot,
} from './latency-histogram.js';
export {
  DEFAULT_BUCKETS_MS,
  type EventSourceLike,
  type LatencyStats,
  PERFORMANCE_MONITOR_DEFAULTS,
  PerformanceMonitor,
  type PerformanceMonitorOptions,
  type PerformanceReport,
  type PerformanceStats,
  type RequestLabels,
  type WindowStats,
} from './performance-monitor.js';
export { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
export { RequestSeries } from './request-series.js';
export {
  SLIDING_WINDOW_DEFAULTS,
  SlidingWindowHistogram,
  type SlidingWindowHistogramOptions,
} from './sliding-window-histogram.js';
