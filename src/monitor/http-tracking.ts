import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import { recordServerDuration, schemeOf } from '../telemetry/http-server-metrics.js';

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

/**
 * @internal What the HTTP tracking needs from a monitor (a
 * `PerformanceMonitor`): a start time per request, the time since it for
 * `X-Response-Time`, and the record of the response.
 */
export interface HttpRecorder {
  /** Counts a request in flight; returns its start on the recorder's clock. */
  recordRequest(): number;
  /** Milliseconds since `start` on the recorder's clock. */
  elapsedMs(start: number): number;
  /**
   * Records one response and returns its duration (ms), the one measurement
   * the OpenTelemetry histogram gets too; `statusCode` undefined: the client
   * went away first.
   */
  recordHttpResponse(start: number, statusCode: number | undefined, method: unknown, route: string): number;
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

/**
 * The monitors tracking one response, first to last: usually exactly one.
 * Kept on the response under one symbol, so that the hooks below are shared
 * functions (no closures, no `once` wrapper per request) and a monitor never
 * tracks a response twice.
 */
interface Tracker {
  readonly monitor: HttpRecorder;
  readonly start: number;
  /** Called with {@link subject} when the response ends. */
  readonly routeOf: (subject: never) => string | undefined;
  /** What `routeOf` reads: the request, or a framework's context (Koa `ctx`, Fastify `request`). */
  readonly subject: unknown;
  readonly header: boolean;
  next: Tracker | undefined;
}

/** What the first tracker of a response also keeps: the request and the hooked `writeHead`. */
interface FirstTracker extends Tracker {
  readonly req: IncomingMessage;
  writeHead: ServerResponse['writeHead'] | undefined;
  closed: boolean;
}

const TRACKERS: unique symbol = Symbol('scaleout.monitor.trackers');

type TrackedResponse = ServerResponse & { [TRACKERS]?: FirstTracker };

/**
 * `12.345ms`: what `${ms.toFixed(3)}ms` writes, without `toFixed`, which
 * cost about 150 ns a request here (a third of what the header costs).
 * Values outside [0, 1e9) ms, and values next to a rounding tie, go
 * through `toFixed`.
 *
 * @internal
 */
export function responseTimeText(ms: number): string {
  const scaled = ms * 1000;
  const micros = Math.round(scaled);
  // Out of range, or so close to a rounding tie that the product's own
  // rounding could decide it: toFixed, which rounds the exact value.
  if (!(ms >= 0 && ms < 1e9) || Math.abs(scaled - micros) > 0.4999) return `${ms.toFixed(3)}ms`;
  const whole = Math.floor(micros / 1000);
  const frac = micros - whole * 1000;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}ms`;
}

/**
 * `res.writeHead` while a monitor sets `X-Response-Time`: one shared
 * function (the state is on the response), calling the `writeHead` it
 * replaced. The first tracker asking for the header sets it.
 */
function writeHeadWithResponseTime(
  this: TrackedResponse,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): ServerResponse {
  const first = this[TRACKERS]!;
  if (!this.headersSent) {
    for (let t: Tracker | undefined = first; t !== undefined; t = t.next) {
      if (t.header) {
        this.setHeader('X-Response-Time', responseTimeText(t.monitor.elapsedMs(t.start)));
        break;
      }
    }
  }
  // The arguments as received, their count included (other writeHead
  // wrappers read it): by count, so no arguments object is built per request.
  const writeHead = first.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  // biome-ignore lint/complexity/noArguments: only its count is read here
  switch (arguments.length) {
    case 1:
      return writeHead.call(this, a);
    case 2:
      return writeHead.call(this, a, b);
    case 3:
      return writeHead.call(this, a, b, c);
    default:
      // biome-ignore lint/complexity/noArguments: any other count, passed on as is
      return writeHead.apply(this, arguments as never);
  }
}

/**
 * The response's `'close'` listener. `'close'` follows `'finish'` on every
 * response (keep-alive included) and comes alone when the client went away
 * first: one listener covers both. The first monitor's recorded duration
 * also goes to `http.server.request.duration` (one measurement, two sinks).
 */
function recordOnClose(this: TrackedResponse): void {
  const first = this[TRACKERS];
  if (first === undefined || first.closed) return;
  first.closed = true;
  const finished = this.writableFinished;
  const method = first.req.method;
  for (let t: Tracker | undefined = first; t !== undefined; t = t.next) {
    let route: string | undefined;
    try {
      route = (t.routeOf as (subject: unknown) => string | undefined)(t.subject);
    } catch {
      route = undefined;
    }
    const durationMs = t.monitor.recordHttpResponse(
      t.start,
      finished ? this.statusCode : undefined,
      method,
      route ?? 'unmatched',
    );
    if (t === first) {
      const status = finished ? this.statusCode : undefined;
      recordServerDuration(durationMs, method, route, status, schemeOf(first.req));
    }
  }
}

/**
 * @internal The monitor's hooks for one request: `routeOf(subject)` names
 * its route when it ends (`subject` is the request for node:http and
 * Express, the framework's context for Koa and Fastify, so that no closure
 * is built per request); `header`: set `X-Response-Time`. A monitor
 * already tracking `res` is not added twice.
 */
export function trackHttpRequest<S>(
  monitor: HttpRecorder,
  req: IncomingMessage,
  res: ServerResponse,
  header: boolean,
  routeOf: (subject: S) => string | undefined,
  subject: S,
): void {
  const tracked = res as TrackedResponse;
  const first = tracked[TRACKERS];
  let last: Tracker | undefined;
  for (let t: Tracker | undefined = first; t !== undefined; t = t.next) {
    if (t.monitor === monitor) return;
    last = t;
  }
  const start = monitor.recordRequest();
  if (first === undefined || last === undefined) {
    const tracker: FirstTracker = {
      monitor,
      start,
      routeOf,
      subject,
      header,
      next: undefined,
      req,
      writeHead: undefined,
      closed: false,
    };
    tracked[TRACKERS] = tracker;
    res.on('close', recordOnClose);
    if (header) hookWriteHead(tracked, tracker);
    return;
  }
  last.next = { monitor, start, routeOf, subject, header, next: undefined };
  if (header && first.writeHead === undefined) hookWriteHead(tracked, first);
}

function hookWriteHead(res: TrackedResponse, first: FirstTracker): void {
  first.writeHead = res.writeHead;
  res.writeHead = writeHeadWithResponseTime as ServerResponse['writeHead'];
}
