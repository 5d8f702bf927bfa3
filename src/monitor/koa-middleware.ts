import type { Context, Middleware } from 'koa';
import { checkTrackingOptions } from './http-tracking.js';
import { checkMonitorArgument, refuseExtraArguments } from './monitor-options.js';
import type { PerformanceMonitor } from './performance-monitor.js';

/**
 * Options of the Koa {@link monitorMiddleware}.
 *
 * @example
 * ```ts
 * import { monitorMiddleware } from 'scaleout/koa';
 * app.use(monitorMiddleware(monitor, { route: (ctx) => ctx.state.routeTemplate }));
 * ```
 */
export interface KoaMonitorOptions {
  /** Set `X-Response-Time`. @default true */
  responseTimeHeader?: boolean;
  /** The route label of a request. @default `ctx._matchedRoute` (set by @koa/router), else `unmatched` */
  route?: ((ctx: Context) => string | undefined) | undefined;
}

function matchedRoute(ctx: Context): string | undefined {
  const r = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return typeof r === 'string' ? r : undefined;
}

/**
 * Koa middleware recording every request into `monitor` (errors and aborted
 * requests included) and setting `X-Response-Time`. Register it first.
 *
 * @example
 * ```ts
 * import { monitorMiddleware, metricsHandler } from 'scaleout/koa';
 * app.use(monitorMiddleware(monitor));
 * router.get('/metrics', metricsHandler(monitor));
 * ```
 */
export function monitorMiddleware(monitor: PerformanceMonitor, options: KoaMonitorOptions = {}): Middleware {
  checkMonitorArgument(monitor, 'monitorMiddleware()');
  checkTrackingOptions(options, 'monitorMiddleware() options');
  const routeOf = options.route ?? matchedRoute;
  const header = options.responseTimeHeader ?? true;
  return (ctx, next) => {
    // Options checked once above; the route is read from ctx when the response ends.
    monitor.trackWith(ctx.req, ctx.res, header, routeOf, ctx);
    return next();
  };
}

/**
 * Koa handler for `/metrics`: streams Prometheus text (or JSON stats with
 * `?format=json`) on the raw response.
 *
 * @example
 * ```ts
 * import { metricsHandler } from 'scaleout/koa';
 * const metrics = metricsHandler(monitor);
 * app.use((ctx, next) => (ctx.path === '/metrics' ? metrics(ctx, next) : next()));
 * ```
 */
export function metricsHandler(monitor: PerformanceMonitor): Middleware;
export function metricsHandler(monitor: PerformanceMonitor, ...extra: unknown[]): Middleware {
  checkMonitorArgument(monitor, 'metricsHandler()');
  refuseExtraArguments('metricsHandler()', extra);
  const handler = monitor.handler();
  return (ctx) => {
    ctx.respond = false;
    handler(ctx.req, ctx.res);
  };
}
