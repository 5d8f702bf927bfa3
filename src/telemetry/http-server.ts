/**
 * The SERVER span of an incoming request, for the monitor middleware
 * (node:http, Express, Fastify, Koa). `http.server.request.duration` is
 * recorded from the monitor's own measurement (http-server-metrics.ts).
 *
 * ```text
 * incoming request ── traceparent/tracestate/baggage extracted (foreign data:
 *                     what cannot be read is skipped)
 *   GET /orders/:id (SERVER: http.request.method, url.path, url.scheme,
 *                    http.route, http.response.status_code, error.type)
 *     └─ what the handler does (ServiceClient calls, publishes) is its child:
 *        the rest of the middleware chain runs in the span's context
 * ```
 *
 * The deadline header enters with the trace: the chain runs with the
 * request's deadline (`x-request-deadline-ms`) as the inherited deadline of
 * its `ServiceClient` calls, OpenTelemetry or not.
 *
 * The span ends when the response closes (finished, or the client went
 * away: `error.type` `aborted`); the route template is read then (routers
 * match after the middleware ran), and names the span `METHOD route`. Uses
 * the global providers: the middleware are built without options for it.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Span } from '@opentelemetry/api';
import { DEADLINE_HEADER, readDeadline } from '../client/deadline.js';
import { runWithInheritedDeadline } from '../client/inherited-deadline.js';
import { requestPath } from '../internal/request-path.js';
import { extractContext } from './carrier.js';
import { emitInCurrentContext } from './emitter-scope.js';
import { HTTP, httpMethod } from './semconv.js';
import { Telemetry } from './telemetry.js';

/** `undefined`: not made yet; `null`: no telemetry. */
let shared: HttpServerTelemetry | null | undefined;

/**
 * The SERVER spans of the monitor middleware.
 *
 * @internal
 */
export class HttpServerTelemetry {
  readonly #telemetry: Telemetry;

  constructor(telemetry: Telemetry) {
    this.#telemetry = telemetry;
  }

  /** The API module. */
  api(): Telemetry['api'] {
    return this.#telemetry.api;
  }

  /** The one instance of the process (global providers), or `undefined` without the API. */
  static shared(): HttpServerTelemetry | undefined {
    if (shared === undefined) {
      const telemetry = Telemetry.create({});
      shared = telemetry === undefined ? null : new HttpServerTelemetry(telemetry);
    }
    return shared ?? undefined;
  }

  /**
   * Opens the SERVER span of `req` (ended when `res` closes) and returns the
   * context the rest of the chain runs in; `undefined` with no tracer
   * provider registered.
   */
  start(req: IncomingMessage, res: ServerResponse, routeOf: () => string | undefined): Context | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    if (tracer === undefined) return undefined;
    const api = this.#telemetry.api;
    const parent = extractContext(api, api.context.active(), req.headers);
    const rawMethod = typeof req.method === 'string' ? req.method.toUpperCase() : 'GET';
    const method = httpMethod(rawMethod);
    const span = tracer.startSpan(method, { kind: api.SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      span.setAttributes({
        [HTTP.method]: method,
        [HTTP.urlPath]: typeof req.url === 'string' ? requestPath(req.url) : '/',
        [HTTP.urlScheme]: schemeOf(req),
      });
      if (method === '_OTHER') span.setAttribute(HTTP.methodOriginal, rawMethod);
    }
    res.once('close', () => this.#end(span, res, method, routeOf));
    return api.trace.setSpan(parent, span);
  }

  #end(span: Span, res: ServerResponse, method: string, routeOf: () => string | undefined): void {
    let route: string | undefined;
    try {
      route = routeOf();
    } catch {
      route = undefined;
    }
    if (typeof route !== 'string' || route.length > 256) route = undefined;
    const finished = res.writableFinished;
    const status = finished ? res.statusCode : undefined;
    const type = status === undefined ? 'aborted' : status >= 500 ? String(status) : undefined;
    if (span.isRecording()) {
      if (route !== undefined) {
        span.updateName(`${method} ${route}`);
        span.setAttribute(HTTP.route, route);
      }
      if (status !== undefined) span.setAttribute(HTTP.status, status);
      if (type !== undefined) {
        span.setAttribute(HTTP.errorType, type);
        span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
      }
    }
    span.end();
  }
}

function schemeOf(req: IncomingMessage | undefined): string {
  return (req?.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
}

/**
 * Runs `next` (the rest of a middleware chain) in the request's scope: the
 * SERVER span of `req` when OpenTelemetry is there (the span ends when
 * `res` closes) and the deadline its {@link DEADLINE_HEADER} sets, entered
 * together, so a `ServiceClient` call in the handler is a child of the
 * SERVER span and inherits what is left of the caller's deadline. Without
 * either, just calls `next`. `routeOf(subject)` gives the route template at
 * the end.
 *
 * @internal
 */
export function runInServerSpan<S, R>(
  req: IncomingMessage,
  res: ServerResponse,
  routeOf: (subject: S) => string | undefined,
  subject: S,
  next: () => R,
): R {
  const deadlineAt = req.headers[DEADLINE_HEADER] === undefined ? undefined : readDeadline(req);
  const telemetry = HttpServerTelemetry.shared();
  let context: Context | undefined;
  if (telemetry !== undefined) {
    try {
      context = telemetry.start(req, res, () => routeOf(subject));
    } catch {
      context = undefined;
    }
  }
  if (context === undefined && deadlineAt === undefined) return next();
  // In the scope: the request's own events (a handler's req.on('end')) stay in it too.
  const enter = (): R => {
    emitInCurrentContext(req);
    return next();
  };
  if (context === undefined) return runWithInheritedDeadline(deadlineAt!, enter);
  const api = telemetry!.api();
  return deadlineAt === undefined
    ? api.context.with(context, enter)
    : runWithInheritedDeadline(deadlineAt, () => api.context.with(context, enter));
}
