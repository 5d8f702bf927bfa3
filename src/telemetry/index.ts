export type { ConsumerTraceMode } from './queue-telemetry.js';
export { DURATION_BUCKETS_SECONDS } from './semconv.js';
export type { MeterProviderLike, TelemetryOptions, TracerProviderLike } from './telemetry-options.js';
