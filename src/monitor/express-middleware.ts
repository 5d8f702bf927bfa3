import type { RequestHandler } from 'express';
import type { HttpTrackingOptions } from './http-tracking.js';
import { checkMonitorArgument, refuseExtraArguments } from './monitor-options.js';
import type { PerformanceMonitor } from './performance-monitor.js';

/**
 * Express middleware recording every request into `monitor` (errors and
 * aborted requests included) and setting `X-Response-Time`. The route label
 * is the matched route template (`req.baseUrl + req.route.path`), never the
 * raw path; requests no route matched are labelled `unmatched`.
 *
 * @example
 * ```ts
 * import { PerformanceMonitor } from 'scaleout';
 * import { monitorMiddleware, metricsHandler } from 'scaleout/express';
 * const monitor = new PerformanceMonitor();
 * app.use(monitorMiddleware(monitor));
 * app.get('/metrics', metricsHandler(monitor));
 * ```
 */
export function monitorMiddleware(
  monitor: PerformanceMonitor,
  options?: HttpTrackingOptions,
): RequestHandler {
  checkMonitorArgument(monitor, 'monitorMiddleware()');
  const middleware = monitor.middleware(options);
  return (req, res, next) => middleware(req, res, next);
}

/**
 * Express handler for `/metrics`: Prometheus text streamed without blocking
 * the event loop, or JSON stats with `?format=json` / `Accept: application/json`.
 *
 * @example
 * ```ts
 * app.get('/metrics', metricsHandler(monitor));
 * ```
 */
export function metricsHandler(monitor: PerformanceMonitor): RequestHandler;
export function metricsHandler(monitor: PerformanceMonitor, ...extra: unknown[]): RequestHandler {
  checkMonitorArgument(monitor, 'metricsHandler()');
  refuseExtraArguments('metricsHandler()', extra);
  const handler = monitor.handler();
  return (req, res) => handler(req, res);
}
