export {
  HISTOGRAM_RELATIVE_ACCURACY,
  LatencyHistogram,
  type LatencyHistogramSnapshot,
} from './latency-histogram.js';
export {
  SLIDING_WINDOW_DEFAULTS,
  SlidingWindowHistogram,
  type SlidingWindowHistogramOptions,
} from './sliding-window-histogram.js';
