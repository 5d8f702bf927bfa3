import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { checkTrackingOptions } from './http-tracking.js';
import { checkMonitorArgument, refuseExtraArguments } from './monitor-options.js';
import type { PerformanceMonitor } from './performance-monitor.js';

/**
 * Options of {@link monitorPlugin}.
 *
 * @example
 * ```ts
 * app.register(monitorPlugin(monitor, { responseTimeHeader: false }));
 * ```
 */
export interface FastifyMonitorOptions {
  /** Set `X-Response-Time`. @default true */
  responseTimeHeader?: boolean;
  /** The route label of a request. @default `request.routeOptions.url` (the route template), else `unmatched` */
  route?: ((request: FastifyRequest) => string | undefined) | undefined;
}

/**
 * A Fastify plugin recording every request into `monitor` (errors and
 * aborted requests included, on the raw response) and setting
 * `X-Response-Time`. It applies to the whole instance (not encapsulated).
 *
 * @example
 * ```ts
 * import { monitorPlugin, metricsHandler } from 'scaleout/fastify';
 * await app.register(monitorPlugin(monitor));
 * app.get('/metrics', metricsHandler(monitor));
 * ```
 */
export function monitorPlugin(
  monitor: PerformanceMonitor,
  options: FastifyMonitorOptions = {},
): FastifyPluginCallback {
  checkMonitorArgument(monitor, 'monitorPlugin()');
  checkTrackingOptions(options, 'monitorPlugin() options');
  const routeOf = options.route ?? ((request: FastifyRequest) => request.routeOptions?.url);
  const header = options.responseTimeHeader ?? true;
  const plugin: FastifyPluginCallback = (instance, _opts, done) => {
    instance.addHook('onRequest', (request, reply, next) => {
      // Options checked once above; the route is read from request when the response ends.
      monitor.trackWith(request.raw, reply.raw, header, routeOf, request);
      next();
    });
    done();
  };
  // What fastify-plugin does: share the hook with the whole instance.
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'scaleout-monitor',
  });
  return plugin;
}

/**
 * Fastify handler for `/metrics`: streams Prometheus text (or JSON stats
 * with `?format=json`) on the raw response.
 *
 * @example
 * ```ts
 * app.get('/metrics', metricsHandler(monitor));
 * ```
 */
export function metricsHandler(
  monitor: PerformanceMonitor,
): (request: FastifyRequest, reply: FastifyReply) => void;
export function metricsHandler(
  monitor: PerformanceMonitor,
  ...extra: unknown[]
): (request: FastifyRequest, reply: FastifyReply) => void {
  checkMonitorArgument(monitor, 'metricsHandler()');
  refuseExtraArguments('metricsHandler()', extra);
  const handler = monitor.handler();
  return (request, reply) => {
    reply.hijack();
    handler(request.raw, reply.raw);
  };
}
