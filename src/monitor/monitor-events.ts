import type { PerformanceStats } from './performance-stats.js';

/**
 * The events of a {@link PerformanceMonitor} (`monitor.on(name, listener)`),
 * by name (kebab-case, as every primitive's), with their payloads.
 *
 * @example
 * ```ts
 * monitor.on('report', (stats) => metricsLog.write(stats));
 * monitor.on('observe-error', ({ source, event, reason }) => alert(`${source}.${event}: ${reason}`));
 * ```
 */
export type PerformanceMonitorEvents = {
  /** The stats, every `reportIntervalMs` (as `onReport` gets them). */
  report: PerformanceStats;
  /**
   * An event `observe()` dropped (also counted by
   * `scaleout_monitor_observe_errors_total`): its mapping threw, or returned
   * labels that cannot be used.
   */
  'observe-error': ObserveErrorEvent;
};

/**
 * Payload of the monitor's `observe-error` event.
 *
 * @example
 * ```ts
 * monitor.on('observe-error', (e: ObserveErrorEvent) => console.warn(e.source, e.event, e.reason));
 * ```
 */
export interface ObserveErrorEvent {
  /** The `source` given to `observe()` (`cache`, `client`...). */
  source: string;
  /** The observed event's name. */
  event: string;
  /** `mapping-threw`: a `durationMs` or `labels` function threw; `unusable-labels`: its labels were refused. */
  reason: 'mapping-threw' | 'unusable-labels';
}
