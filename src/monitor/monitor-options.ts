import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

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
    clock: 'now',
  },
  // The design reported every 60 s: a number here most likely meant that interval.
  bareNumber: 'reportIntervalMs',
});

const checkLabelKeys = optionsChecker({
  where: 'request labels',
  keys: ['method', 'route'],
  hints: { path: 'route', url: 'route', verb: 'method' },
});
const checkBoundLabelKeys = optionsChecker({
  where: 'monitor.bind() labels',
  keys: ['method', 'route', 'status'],
  hints: { path: 'route', url: 'route', verb: 'method', statusCode: 'status', code: 'status' },
});

/**
 * @internal Checks the labels of `recordResponse()` (or `bind()`, with
 * `status`): `undefined` or a plain object with only the known keys; a
 * typo such as `{ path }` would otherwise label every request `unknown`.
 */
export function checkRequestLabels(labels: unknown, withStatus = false): void {
  if (withStatus) {
    if (labels === undefined)
      throw new InvalidOptionsError('monitor.bind() needs labels ({ method, route, status })', {});
    checkBoundLabelKeys(labels);
  } else {
    checkLabelKeys(labels);
  }
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
 * with the monitor's `middleware`, `handler` and `track`), not its options
 * or nothing: `monitorMiddleware({ route })` is a typed error, not a
 * TypeError on the first request.
 */
export function checkMonitorArgument(monitor: unknown, what: string): void {
  const m = monitor as { middleware?: unknown; handler?: unknown; track?: unknown } | null | undefined;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.middleware !== 'function' ||
    typeof m.handler !== 'function' ||
    typeof m.track !== 'function'
  ) {
    throw new InvalidArgumentError(`${what} needs a PerformanceMonitor as its first argument`, {
      argument: 'monitor',
    });
  }
}
