import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { clockOption, durationOption, optionsChecker } from '../internal/validate.js';
import { type BaseOptions, type Clock, type Logger, systemClock } from '../types.js';
import { metricPrefixProblem } from './metric-names.js';
import type { PerformanceStats } from './performance-stats.js';
import { ExposedBuckets } from './prometheus-text.js';

/**
 * Options of {@link PerformanceMonitor}. All optional; see
 * {@link PERFORMANCE_MONITOR_DEFAULTS}.
 *
 * @example
 * ```ts
 * const options: PerformanceMonitorOptions = { windowMs: 60_000, maxSeries: 500, reportIntervalMs: 60_000, logger };
 * ```
 */
export interface PerformanceMonitorOptions extends Omit<BaseOptions<never>, 'adapter'> {
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
  /** Time source: its `monotonic()` (ms, fractional) times every request. @default systemClock (`performance.now`) */
  clock?: Clock;
  /**
   * Monotonic clock in ms (fractional).
   * @deprecated Pass `clock` (a {@link Clock}, whose `monotonic()` is read); `now` is still read when `clock` is absent.
   */
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
  clock: systemClock,
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

/** @internal Refuses unknown keys of `PerformanceMonitorOptions`. */
export const checkMonitorOptions = optionsChecker({
  where: 'PerformanceMonitor options',
  keys: [
    'windowMs',
    'windowSlots',
    'maxSeries',
    'errorStatusMin',
    'metricPrefix',
    'bucketsMs',
    'eventLoop',
    'eventLoopResolutionMs',
    'reportIntervalMs',
    'onReport',
    'logger',
    'clock',
    'now',
    'scrapeSliceMs',
  ],
  hints: {
    interval: 'reportIntervalMs',
    reportInterval: 'reportIntervalMs',
    window: 'windowMs',
    prefix: 'metricPrefix',
    buckets: 'bucketsMs',
    errorStatus: 'errorStatusMin',
  },
  // The design reported every 60 s: a number here most likely meant that interval.
  bareNumber: 'reportIntervalMs',
});

/** @internal {@link PerformanceMonitorOptions} checked, defaults applied. */
export interface MonitorSettings {
  /** Monotonic ms: the clock every request reads. */
  readonly now: () => number;
  readonly windowMs: number;
  readonly windowSlots: number;
  readonly maxSeries: number;
  readonly errorStatusMin: number;
  readonly prefix: string;
  readonly buckets: ExposedBuckets;
  /** `undefined`: event-loop delay is not measured. */
  readonly eventLoopResolutionMs: number | undefined;
  /** 0: no reports. */
  readonly reportIntervalMs: number;
  readonly scrapeSliceMs: number;
  readonly logger: Logger | undefined;
  readonly onReport: ((stats: PerformanceStats) => void) | undefined;
}

/** The system clock's monotonic time, bound once: a request reads the clock three times. */
const performanceNow: () => number = performance.now.bind(performance);

/**
 * @internal Checks every option of a `PerformanceMonitor` (unknown keys,
 * types, ranges) and merges the defaults field by field; throws
 * `InvalidOptionsError` naming the option.
 */
export function monitorSettings(options: PerformanceMonitorOptions): MonitorSettings {
  checkMonitorOptions(options);
  const d = PERFORMANCE_MONITOR_DEFAULTS;
  clockOption(options.clock);
  if (options.clock !== undefined && options.now !== undefined) {
    throw new InvalidOptionsError('pass clock only: now is its deprecated form', { option: 'now' });
  }
  const clock = options.clock ?? d.clock;
  const now = options.now ?? (clock === systemClock ? performanceNow : clock.monotonic.bind(clock));
  if (typeof now !== 'function') {
    throw new InvalidOptionsError('now must be a function', { option: 'now' });
  }
  if (options.now !== undefined) {
    // Read once here: a time source that answers anything but a number would
    // turn every duration and the uptime into NaN (null in JSON).
    let sample: unknown;
    try {
      sample = now();
    } catch (err) {
      throw new InvalidOptionsError('now() threw', { option: 'now', cause: err });
    }
    if (typeof sample !== 'number' || !Number.isFinite(sample)) {
      throw new InvalidOptionsError('now must return a finite number of milliseconds', { option: 'now' });
    }
  }
  const windowMs = durationOption('windowMs', options.windowMs ?? d.windowMs);
  const windowSlots = options.windowSlots ?? d.windowSlots;
  if (!Number.isInteger(windowSlots) || windowSlots < 2 || windowSlots > 60) {
    throw new InvalidOptionsError('windowSlots must be an integer in [2, 60]', { option: 'windowSlots' });
  }
  const maxSeries = options.maxSeries ?? d.maxSeries;
  if (!Number.isInteger(maxSeries) || maxSeries < 1 || maxSeries > 1_000_000) {
    throw new InvalidOptionsError('maxSeries must be an integer in [1, 1000000]', { option: 'maxSeries' });
  }
  const errorStatusMin = options.errorStatusMin ?? d.errorStatusMin;
  if (!Number.isInteger(errorStatusMin) || errorStatusMin < 100 || errorStatusMin > 600) {
    throw new InvalidOptionsError('errorStatusMin must be an integer in [100, 600]', {
      option: 'errorStatusMin',
    });
  }
  const prefix = options.metricPrefix ?? d.metricPrefix;
  const prefixProblem = typeof prefix === 'string' ? metricPrefixProblem(prefix) : 'it must be a string';
  if (prefixProblem !== undefined) {
    throw new InvalidOptionsError(`metricPrefix cannot prefix metric names: ${prefixProblem}`, {
      option: 'metricPrefix',
    });
  }
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
  const scrapeSliceMs = options.scrapeSliceMs ?? d.scrapeSliceMs;
  if (typeof scrapeSliceMs !== 'number' || !(scrapeSliceMs > 0 && scrapeSliceMs <= 1000)) {
    throw new InvalidOptionsError('scrapeSliceMs must be a number in (0, 1000]', {
      option: 'scrapeSliceMs',
    });
  }
  const onReport = options.onReport;
  if (onReport !== undefined && typeof onReport !== 'function') {
    throw new InvalidOptionsError('onReport must be a function', { option: 'onReport' });
  }
  const reportIntervalMs = options.reportIntervalMs ?? d.reportIntervalMs;
  if (reportIntervalMs !== 0) durationOption('reportIntervalMs', reportIntervalMs);
  const eventLoopResolutionMs =
    (options.eventLoop ?? d.eventLoop)
      ? durationOption('eventLoopResolutionMs', options.eventLoopResolutionMs ?? d.eventLoopResolutionMs)
      : undefined;
  return {
    now,
    windowMs,
    windowSlots,
    maxSeries,
    errorStatusMin,
    prefix,
    buckets: new ExposedBuckets(bucketsMs),
    eventLoopResolutionMs,
    reportIntervalMs,
    scrapeSliceMs,
    logger: options.logger,
    onReport,
  };
}

/**
 * @internal Refuses arguments past the ones a method or factory takes (an
 * options object where there are none), naming it.
 */
export function refuseExtraArguments(what: string, extra: readonly unknown[]): void {
  if (extra.length === 0 || (extra.length === 1 && extra[0] === undefined)) return;
  throw new InvalidOptionsError(`${what} takes no options (got ${extra.length} extra argument(s))`, {});
}

/**
 * @internal Checks that a framework helper was given a monitor (anything
 * with the monitor's `middleware`, `handler`, `track` and `trackWith`), not its options
 * or nothing: `monitorMiddleware({ route })` is a typed error, not a
 * TypeError on the first request.
 */
export function checkMonitorArgument(monitor: unknown, what: string): void {
  const m = monitor as
    | { middleware?: unknown; handler?: unknown; track?: unknown; trackWith?: unknown }
    | null
    | undefined;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.middleware !== 'function' ||
    typeof m.handler !== 'function' ||
    typeof m.track !== 'function' ||
    typeof m.trackWith !== 'function'
  ) {
    throw new InvalidArgumentError(`${what} needs a PerformanceMonitor as its first argument`, {
      argument: 'monitor',
    });
  }
}
