import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop health as {@link PerformanceStats} reports it (`eventLoop`);
 * `null` delay figures when the monitor's `eventLoop` option is off.
 *
 * @example
 * ```ts
 * const { delayP99Ms, utilization } = monitor.getStats().eventLoop;
 * ```
 */
export interface EventLoopStats {
  /** Median event-loop delay since start, ms. */
  delayP50Ms: number | null;
  /** 99th percentile event-loop delay since start, ms. */
  delayP99Ms: number | null;
  /** Largest event-loop delay since start, ms. */
  delayMaxMs: number | null;
  /** Event-loop utilisation (0..1) since the previous `getStats()` or scrape. */
  utilization: number;
}

/**
 * @internal The monitor's view of the event loop: delay sampled by
 * `perf_hooks.monitorEventLoopDelay` (when on), and utilisation since the
 * previous reading (getStats or scrape: each reading starts a new interval).
 */
export class EventLoopHealth {
  readonly #delay: IntervalHistogram | undefined;
  /** The sampling interval, ns: the raw histogram measures it plus the delay. */
  readonly #resolutionNs: number;
  #elu: EventLoopUtilization;

  /** `resolutionMs` undefined: delay is not measured. */
  constructor(resolutionMs: number | undefined) {
    if (resolutionMs !== undefined) {
      this.#delay = monitorEventLoopDelay({ resolution: resolutionMs });
      this.#resolutionNs = resolutionMs * 1e6;
      this.#delay.enable();
    } else {
      this.#resolutionNs = 0;
    }
    this.#elu = performance.eventLoopUtilization();
  }

  /** The raw delay histogram (ns), when measured and sampled at least once. */
  get delay(): IntervalHistogram | undefined {
    const d = this.#delay;
    return d !== undefined && d.count > 0 ? d : undefined;
  }

  /** Utilisation since the previous call (or start), 0..1. */
  utilization(): number {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, this.#elu);
    this.#elu = current;
    return Number.isFinite(delta.utilization) ? delta.utilization : 0;
  }

  /** The figures of `getStats().eventLoop`: delay beyond the sampling interval, ms. */
  stats(): EventLoopStats {
    const loop = this.delay;
    return {
      delayP50Ms: loop !== undefined ? this.#delayNs(loop.percentile(50)) / 1e6 : null,
      delayP99Ms: loop !== undefined ? this.#delayNs(loop.percentile(99)) / 1e6 : null,
      delayMaxMs: loop !== undefined ? this.#delayNs(loop.max) / 1e6 : null,
      utilization: this.utilization(),
    };
  }

  /** Stops sampling. */
  close(): void {
    this.#delay?.disable();
  }

  /** The delay beyond the sampling interval, ns. */
  #delayNs(raw: number): number {
    return Math.max(0, raw - this.#resolutionNs);
  }
}
