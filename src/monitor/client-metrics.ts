import type { ServiceClientEvents } from '../client/service-client-events.js';
import type { EventMetricMapping } from './event-metrics.js';

/**
 * How {@link PerformanceMonitor.observeClient} turns `ServiceClient` events
 * into metrics (source `client`). Labels are bounded: the service name (one
 * per client), the attempt outcome (8 values), the error code of a retry
 * (a closed list), breaker states; never instance URLs or request paths.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `scaleout_client_attempt_duration_seconds` | histogram (its `_count`: attempts) | `service`, `outcome` |
 * | `scaleout_client_retries_total` | counter | `service`, `reason` (error code) |
 * | `scaleout_client_breaker_transitions_total` | counter | `service`, `from`, `to` |
 * | `scaleout_client_retry_budget_exhausted_total` | counter | `service` |
 * | `scaleout_client_source_errors_total` | counter | `service`, `operation` (`onAttemptStart`/`onAttemptEnd`) |
 *
 * @example
 * ```ts
 * monitor.observe(client, 'client', CLIENT_METRIC_MAPPINGS); // what observeClient(client) does
 * ```
 */
export const CLIENT_METRIC_MAPPINGS: {
  readonly [K in keyof ServiceClientEvents]: EventMetricMapping<ServiceClientEvents[K]>;
} = Object.freeze({
  attempt: {
    durationMs: (e) => e.latencyMs,
    labels: (e) => ({ service: e.service, outcome: e.outcome }),
    help: 'Duration of ServiceClient attempts by service and outcome; _count counts attempts.',
  },
  retry: {
    name: 'retries',
    labels: (e) => ({ service: e.service, reason: e.errorCode }),
    help: 'ServiceClient retries by service and the error code that caused them.',
  },
  'breaker-state-change': {
    name: 'breaker_transitions',
    labels: (e) => ({ service: e.service, from: e.from, to: e.to }),
    help: 'Circuit breaker state changes of ServiceClient instances, by service.',
  },
  'retry-budget-exhausted': {
    name: 'retry_budget_exhausted',
    labels: (e) => ({ service: e.service }),
    help: 'Retries refused by the ServiceClient retry budget, by service.',
  },
  error: {
    name: 'source_errors',
    labels: (e) => ({ service: e.service, operation: e.operation }),
    help: 'Callbacks of a ServiceClient upstream source that threw or rejected, by service and callback.',
  },
});
