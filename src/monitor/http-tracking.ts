import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import type { PerformanceMonitor } from './performance-monitor.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';

/**
 * Options of the HTTP tracking behind every middleware.
 *
 * @example
 * ```ts
 * app.use(monitor.middleware({ route: (req) => myRouter.match(req)?.template }));
 * ```
 */
export interface HttpTrackingOptions {
  /**
   * The route template of a request, read when the response ends. Return
   * `undefined` for "not matched". Never return the raw path: every distinct
   * value becomes a series. @default Express's `req.baseUrl + req.route.path`, else `'unmatched'`
   */
  route?: ((req: IncomingMessage) => string | undefined) | undefined;
  /** Set the `X-Response-Time` header (`12.345ms`) just before headers are sent. @default true */
  responseTimeHeader?: boolean;
}

const checkTrackingKeys = optionsChecker({
  where: 'monitor middleware options',
  keys: ['route', 'responseTimeHeader'],
  hints: { routeOf: 'route', header: 'responseTimeHeader', xResponseTime: 'responseTimeHeader' },
});

/**
 * @internal Checks the options of a middleware (node:http, Express,
 * Fastify, Koa): known keys only, `route` a function, `responseTimeHeader`
 * a boolean. `where` names the middleware in messages.
 */
export function checkTrackingOptions(options: unknown, where = 'monitor middleware options'): void {
  try {
    checkTrackingKeys(options);
  } catch (err) {
    const e = err as InvalidOptionsError;
    throw new InvalidOptionsError(e.message.replace('monitor middleware options', where), {
      option: e.option,
      suggestion: e.suggestion,
    });
  }
  const o = options as { route?: unknown; responseTimeHeader?: unknown } | undefined;
  if (o?.route !== undefined && typeof o.route !== 'function') {
    throw new InvalidOptionsError(`${where}: route must be a function returning the route template`, {
      option: 'route',
    });
  }
  if (o?.responseTimeHeader !== undefined && typeof o.responseTimeHeader !== 'boolean') {
    throw new InvalidOptionsError(`${where}: responseTimeHeader must be a boolean`, {
      option: 'responseTimeHeader',
    });
  }
}

interface ExpressLike {
  baseUrl?: unknown;
  route?: { path?: unknown };
}

/**
 * Express's matched route template (`req.baseUrl + req.route.path`),
 * duck-typed (no import of express); `undefined` when no route matched.
 *
 * @example
 * ```ts
 * app.use(monitor.middleware({ route: (req) => expressRoute(req) ?? 'static' }));
 * ```
 */
export function expressRoute(req: IncomingMessage): string | undefined {
  const r = (req as unknown as ExpressLike).route;
  if (r === undefined || r === null || typeof r.path !== 'string') return undefined;
  const base = (req as unknown as ExpressLike).baseUrl;
  return typeof base === 'string' ? base + r.path : r.path;
}

/** Marks a response already tracked by a monitor, so two middlewares never count it twice. */
const TRACKED: unique symbol = Symbol('scaleout.monitor.tracked');

/** @internal the monitor's hooks for one request. */
export function trackHttpRequest(
  monitor: PerformanceMonitor,
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpTrackingOptions | undefined,
  routeOf: (req: IncomingMessage) => string | undefined = options?.route ?? expressRoute,
): void {
  const marked = res as ServerResponse & { [TRACKED]?: PerformanceMonitor };
  if (marked[TRACKED] === monitor) return;
  marked[TRACKED] = monitor;
  const start = monitor.recordRequest();
  if (options?.responseTimeHeader !== false) {
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) {
        this.setHeader('X-Response-Time', `${monitor.elapsedMs(start).toFixed(3)}ms`);
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['writeHead'];
  }
  // 'close' follows 'finish' on every response (keep-alive included) and
  // comes alone when the client went away first: one listener covers both.
  res.once('close', () => {
    let route: string | undefined;
    try {
      route = routeOf(req);
    } catch {
      route = undefined;
    }
    const labels = { method: req.method, route: route ?? 'unmatched' };
    if (res.writableFinished) monitor.recordResponse(start, res.statusCode, labels);
    else monitor.recordAborted(start, labels);
  });
}

function wantsJson(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0 && new URLSearchParams(url.slice(q + 1)).get('format') === 'json') return true;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/plain');
}

/** @internal serves /metrics: streamed Prometheus text, or JSON stats. */
export function metricsRequestHandler(
  monitor: PerformanceMonitor,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (wantsJson(req)) {
    const body = JSON.stringify(monitor.toJSON());
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  void (async () => {
    try {
      for await (const chunk of monitor.exposition()) {
        if (res.destroyed) return;
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
      res.end();
    } catch {
      res.destroy();
    }
  })();
}
