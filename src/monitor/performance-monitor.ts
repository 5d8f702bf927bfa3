import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheEventSource, ClientEventSource, EventSourceLike } from '../contracts/event-source.js';
import { InvalidArgumentError } from '../errors.js';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { type TimerHandle, unrefInterval } from '../internal/timers.js';
import { runInServerSpan } from '../telemetry/http-server.js';
import { recordServerDuration } from '../telemetry/http-server-metrics.js';
import type { Logger } from '../types.js';
import { cacheMetricMappings, type ObserveCacheOptions } from './cache-metrics.js';
import { CLIENT_METRIC_MAPPINGS } from './client-metrics.js';
import { EventLoopHealth } from './event-loop-health.js';
import type { EventMetricMapping } from './event-metrics.js';
import { EventObserver } from './event-observer.js';
import { monitorExposition } from './exposition.js';
import {
  checkTrackingOptions,
  expressRoute,
  type HttpTrackingOptions,
  trackHttpRequest,
} from './http-tracking.js';
import { metricsRequestHandler } from './metrics-handler.js';
import type { PerformanceMonitorEvents } from './monitor-events.js';
import {
  type MonitorSettings,
  monitorSettings,
  type PerformanceMonitorOptions,
  refuseExtraArguments,
} from './monitor-options.js';
import { type PerformanceReport, type PerformanceStats, performanceStats } from './performance-stats.js';
import { checkRequestLabels, type RequestLabels } from './request-labels.js';
import type { RequestSeries } from './request-series.js';
import { SeriesTable } from './series-table.js';

function noop(): void {}

/**
 * The facade of the monitor: one request's flow through the files of
 * src/monitor/, and the state each part keeps.
 *
 * A request, tracked by a middleware (http-tracking.ts):
 *
 *   start ──recordRequest()──▶ in flight ──'close' on the response──▶ recorded
 *                                  │                                     ▲
 *                                  └─ writeHead: X-Response-Time set ────┘ (no record)
 *
 * - **start**: `inFlight++`, the clock read once; the start time lives on
 *   the response's tracker (one object per response, shared hooks).
 * - **in flight**: the `http_requests_in_flight` gauge counts it. Nothing is
 *   recorded yet: the route template is only known once the router ran.
 * - **recorded**: the response's `'close'` comes after `'finish'` on every
 *   response, and alone when the client went away first. Finished: the
 *   response's status; not finished: status 499 and `aborted++`. Either way
 *   `inFlight--` (never below 0), the windows rotate to now, the series of
 *   (method, route template, status) is found (the last one found is reused
 *   for the same labels: series are never dropped, so it stays valid; never
 *   reused past the cap, where every lookup counts as an overflow), and
 *   `RequestSeries.record` feeds the series' histogram, then the table's
 *   totals, status counts and windows (series-table.ts). A tracker records
 *   once: `closed` guards a second `'close'`.
 *
 * Direct calls take the same path: `recordRequest()` / `recordResponse()`
 * (labels checked, then looked up), `bind()` (a series kept by the caller:
 * `record()` skips the lookup and the clock).
 *
 * The windows rotate on a timer of one slot as well (`windowMs /
 * windowSlots`), so a series bound once never needs to read the clock. A
 * scrape (exposition.ts) and `getStats()` (performance-stats.ts) read the
 * table without stopping recording: a scrape yields between slices, each
 * series written whole within one slice.
 */

/**
 * Request latency, errors, throughput and event-loop health for a Node
 * service, in constant memory per series, exposed to Prometheus without
 * blocking the event loop.
 *
 * Durations go into {@link LatencyHistogram}s (≤1% relative error at every
 * percentile, about 7 KB each): one per (method, route template, status) series,
 * capped at `maxSeries` with `__overflow__` series beyond, plus a sliding
 * window for "the last five minutes". Nothing prints by itself: pass
 * `onReport` or a `logger` with `reportIntervalMs` to be told.
 *
 * @example
 * ```ts
 * const monitor = new PerformanceMonitor();
 * const server = http.createServer((req, res) => {
 *   if (req.url === '/metrics') return monitor.handler()(req, res);
 *   monitor.track(req, res, { route: () => '/hello' });
 *   res.end('hi');
 * });
 * // later
 * monitor.getStats().p99Ms;
 * await monitor.close();
 * ```
 */
export class PerformanceMonitor {
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #settings: MonitorSettings;
  readonly #table: SeriesTable;
  readonly #observer: EventObserver;
  readonly #eventLoop: EventLoopHealth;
  readonly #events: TypedEmitter<PerformanceMonitorEvents>;
  readonly #timers: TimerHandle[] = [];
  readonly #life = new Lifecycle('PerformanceMonitor');
  #inFlight = 0;
  #aborted = 0;

  constructor(options: PerformanceMonitorOptions = {}) {
    const settings = monitorSettings(options);
    this.#settings = settings;
    this.#now = settings.now;
    this.#startedAt = this.#now();
    this.#table = new SeriesTable({ ...settings, startedAt: this.#startedAt });
    const logger: Logger | undefined = settings.logger;
    this.#events = new TypedEmitter(logger);
    this.#observer = new EventObserver(settings.prefix, settings.maxSeries, logger, (e) =>
      this.#events.emit('observe-error', e),
    );
    this.#eventLoop = new EventLoopHealth(settings.eventLoopResolutionMs);
    // Rotate the windows even when no request arrives, so bound series never read the clock.
    const slotMs = settings.windowMs / settings.windowSlots;
    this.#timers.push(unrefInterval(() => this.#table.advance(this.#now()), Math.max(1, Math.floor(slotMs))));
    if (settings.reportIntervalMs > 0) {
      this.#timers.push(unrefInterval(() => this.#report(), settings.reportIntervalMs));
    }
  }

  /**
   * Marks the start of a request; returns its start time (monotonic ms, on
   * the monitor's clock) for {@link recordResponse}, as in the design.
   *
   * @example
   * ```ts
   * const start = monitor.recordRequest();
   * const ms = monitor.recordResponse(start, 200);
   * ```
   */
  recordRequest(): number {
    this.#inFlight++;
    return this.#now();
  }

  /** Milliseconds since `start` (a value from {@link recordRequest}) on the monitor's clock; `NaN` for a start that is not a number. */
  elapsedMs(start: number): number {
    return typeof start === 'number' ? this.#now() - start : Number.NaN;
  }

  /**
   * Records the end of a request started at `start` (from
   * {@link recordRequest}) with its status code and labels, and returns its
   * response time in ms, as the design's does (its middleware sets
   * `X-Response-Time` from it). Bad values (a start that is not a number, a
   * status outside 100..599) are recorded as such, never thrown (the
   * result is then `NaN` for a bad start); a `labels` that is not a plain
   * object with `method`/`route` throws `InvalidOptionsError`, recording
   * nothing.
   *
   * @example
   * ```ts
   * const start = monitor.recordRequest();
   * res.setHeader('X-Response-Time', `${monitor.recordResponse(start, 200, { route: '/users/:id' })}ms`);
   * ```
   */
  recordResponse(start: number, statusCode: number, labels?: RequestLabels): number {
    checkRequestLabels(labels);
    if (this.#inFlight > 0) this.#inFlight--;
    const now = this.#now();
    this.#table.advance(now);
    const duration = typeof start === 'number' ? now - start : Number.NaN;
    this.#table.lookup(labels?.method, labels?.route, statusCode).record(duration);
    // The same duration feeds http.server.request.duration (when a meter provider is registered).
    recordServerDuration(duration, labels?.method, labels?.route, statusCode, undefined);
    return duration;
  }

  /**
   * The HTTP tracking's record of one response: the labels come from
   * node:http (`req.method`, a route template), so there is no labels
   * object to build or check. `statusCode` undefined: the client went away
   * first (recorded as aborted, status 499). Returns the duration recorded
   * (ms), which the tracking also hands to OpenTelemetry.
   * @internal
   */
  recordHttpResponse(start: number, statusCode: number | undefined, method: unknown, route: string): number {
    if (statusCode === undefined) this.#aborted++;
    if (this.#inFlight > 0) this.#inFlight--;
    const now = this.#now();
    const table = this.#table;
    table.advance(now);
    const durationMs = now - start;
    table.httpSeries(method, route, statusCode ?? 499).record(durationMs);
    return durationMs;
  }

  /**
   * A pre-bound series for the hot path: recording into it skips every
   * label lookup. Returns the `__overflow__` series once `maxSeries` is reached.
   *
   * @example
   * ```ts
   * const ok = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
   * ok.record(3.2);
   * ```
   */
  bind(labels: RequestLabels & { status: number }): RequestSeries {
    checkRequestLabels(labels, true);
    return this.#table.lookup(labels.method, labels.route, labels.status);
  }

  /**
   * Records `durationMs` for a request that ended as aborted by the client
   * (status 499).
   * @internal used by the HTTP tracking.
   */
  recordAborted(start: number, labels?: RequestLabels): void {
    this.#aborted++;
    this.recordResponse(start, 499, labels);
  }

  #report(): void {
    try {
      const stats = this.getStats();
      this.#settings.onReport?.(stats);
      this.#settings.logger?.info?.('performance stats', stats as unknown as Record<string, unknown>);
      this.#events.emit('report', stats);
    } catch (err) {
      this.#settings.logger?.error?.('performance report failed', { error: String(err) });
    }
  }

  /**
   * The figures of the design's `getStats()`, as numbers; see {@link PerformanceStats}.
   *
   * @example
   * ```ts
   * const { requestCount, p99Ms, errorRate } = monitor.getStats();
   * ```
   */
  getStats(): PerformanceStats {
    return performanceStats(this.#table, {
      now: this.#now(),
      startedAt: this.#startedAt,
      inFlight: this.#inFlight,
      aborted: this.#aborted,
      eventLoop: this.#eventLoop,
    });
  }

  /**
   * Subscribes to the monitor's events (see {@link PerformanceMonitorEvents});
   * returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const stop = monitor.on('report', (stats) => shipToDashboard(stats));
   * ```
   */
  on<K extends keyof PerformanceMonitorEvents>(
    event: K,
    listener: (payload: PerformanceMonitorEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#events.on(event, listener);
  }

  /**
   * Unsubscribes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * monitor.off('report', onReport);
   * ```
   */
  off<K extends keyof PerformanceMonitorEvents>(
    event: K,
    listener: (payload: PerformanceMonitorEvents[K]) => void,
  ): void {
    checkListener(event, listener);
    this.#events.off(event, listener);
  }

  /**
   * Subscribes to another primitive's events (a ServiceClient, a cache, any
   * `on(event, listener)` emitter) and turns each mapped event into a
   * counter or, with `durationMs`, a histogram named
   * `scaleout_<source>_<event>_total` / `..._duration_seconds`. Returns a
   * function that unsubscribes; `close()` unsubscribes everything.
   *
   * @example
   * ```ts
   * monitor.observe<DistributedCacheEvents>(cache, 'cache', {
   *   hit: { labels: (e) => ({ tier: e.tier }) },
   *   miss: {},
   *   refresh: { durationMs: (e) => e.durationMs },
   * });
   * ```
   */
  observe<P extends Record<string, unknown>>(
    emitter: EventSourceLike,
    source: string,
    mapping: { [K in keyof P]?: EventMetricMapping<P[K]> },
  ): () => void {
    return this.#observer.observe(emitter, source, mapping);
  }

  /**
   * Turns a `ServiceClient`'s events into metrics per upstream service:
   * attempts and their latency by outcome, retries by cause, breaker state
   * changes and retry-budget refusals (see {@link CLIENT_METRIC_MAPPINGS}
   * for the series). Returns a function that unsubscribes; `close()`
   * unsubscribes everything. Observe each client once.
   *
   * @example
   * ```ts
   * const inventory = new ServiceClient({ service: 'inventory', registry });
   * monitor.observeClient(inventory);
   * // scaleout_client_attempt_duration_seconds_bucket{outcome="success",service="inventory",le="0.005"} ...
   * ```
   */
  observeClient(client: ClientEventSource): () => void;
  observeClient(client: ClientEventSource, ...extra: unknown[]): () => void {
    refuseExtraArguments('monitor.observeClient()', extra);
    return this.#observer.observe(client as EventSourceLike, 'client', CLIENT_METRIC_MAPPINGS);
  }

  /**
   * Turns a `DistributedCache`'s events into metrics: hits (by tier),
   * misses, stale serves, loader runs and their latency, errors, circuit
   * changes and L1 flushes, optionally per namespace (see
   * {@link cacheMetricMappings} for the series). Events are shared by a
   * cache and all its namespace views: observe the cache once, listing the
   * namespaces to break down by. Returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * monitor.observeCache(cache, { namespaces: ['users', 'products'] });
   * // scaleout_cache_hits_total{namespace="users",tier="l1"} 42
   * ```
   */
  observeCache(cache: CacheEventSource, options: ObserveCacheOptions = {}): () => void {
    return this.#observer.observe(cache as EventSourceLike, 'cache', cacheMetricMappings(options));
  }

  /**
   * Tracks one HTTP request on node:http objects: records it when the
   * response finishes (or as aborted, status 499, when the client goes away
   * first) and sets `X-Response-Time`. The framework middlewares use this.
   */
  track(req: IncomingMessage, res: ServerResponse, options?: HttpTrackingOptions): void {
    checkTrackingOptions(options, 'monitor.track() options');
    trackHttpRequest(
      this,
      req,
      res,
      options?.responseTimeHeader !== false,
      options?.route ?? expressRoute,
      req,
    );
  }

  /**
   * The framework middlewares' {@link track}, options already checked:
   * `routeOf(subject)` names the route when the response ends (`subject`:
   * the framework's request or context), so nothing is built per request.
   * @internal
   */
  trackWith<S>(
    req: IncomingMessage,
    res: ServerResponse,
    header: boolean,
    routeOf: (subject: S) => string | undefined,
    subject: S,
  ): void {
    trackHttpRequest(this, req, res, header, routeOf, subject);
  }

  /**
   * Connect-style middleware for node:http and Express: `(req, res, next)`.
   * The route label is Express's matched route template
   * (`req.baseUrl + req.route.path`), `options.route(req)`, or `unmatched`.
   *
   * @example
   * ```ts
   * app.use(monitor.middleware());
   * ```
   */
  middleware(
    options?: HttpTrackingOptions,
  ): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void {
    checkTrackingOptions(options, 'monitor.middleware() options');
    const header = options?.responseTimeHeader !== false;
    const routeOf = options?.route ?? expressRoute;
    return (req, res, next) => {
      trackHttpRequest(this, req, res, header, routeOf, req);
      // OpenTelemetry (when installed): a SERVER span, the chain in its context.
      runInServerSpan(req, res, routeOf, req, next ?? noop);
    };
  }

  /**
   * A `(req, res)` handler serving `/metrics`: Prometheus text, streamed in
   * slices that yield to the event loop; JSON stats with `?format=json` or
   * `Accept: application/json`.
   *
   * @example
   * ```ts
   * app.get('/metrics', monitor.handler());
   * ```
   */
  handler(): (req: IncomingMessage, res: ServerResponse) => void;
  handler(...extra: unknown[]): (req: IncomingMessage, res: ServerResponse) => void {
    refuseExtraArguments('monitor.handler()', extra);
    return (req, res) => metricsRequestHandler(this, req, res);
  }

  /**
   * The Prometheus text exposition as UTF-8 chunks, produced in slices of at
   * most `scrapeSliceMs` of synchronous work with a yield to the event loop
   * (`setImmediate`) between slices. Each series is written whole inside one
   * slice, so it is consistent.
   */
  async *exposition(): AsyncGenerator<Buffer> {
    yield* monitorExposition({
      table: this.#table,
      events: this.#observer,
      eventLoop: this.#eventLoop,
      buckets: this.#settings.buckets,
      prefix: this.#settings.prefix,
      sliceMs: this.#settings.scrapeSliceMs,
      now: this.#now,
      startedAt: this.#startedAt,
      inFlight: this.#inFlight,
      aborted: this.#aborted,
    });
  }

  /**
   * The whole Prometheus text exposition as one string (built with
   * {@link exposition}, so it yields while it works; the final decode of a
   * very large exposition is one synchronous step: prefer {@link handler},
   * which streams).
   */
  async metrics(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const part of this.exposition()) parts.push(part);
    return Buffer.concat(parts).toString('utf8');
  }

  /** JSON-friendly stats: {@link getStats} plus the observed event metrics. */
  toJSON(): PerformanceReport {
    const events = this.#observer.json();
    return { ...this.getStats(), events };
  }

  /** Stops the timers, the event-loop monitor and every `observe()` subscription. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    return this.#life.close(() => {
      for (const t of this.#timers) t.cancel();
      this.#eventLoop.close();
      this.#observer.close();
      this.#events.clear();
    });
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkListener(event: unknown, listener: unknown): void {
  if (event !== 'report' && event !== 'observe-error') {
    throw new InvalidArgumentError(
      `PerformanceMonitor has no event ${JSON.stringify(String(event)).slice(0, 60)}`,
      {
        argument: 'event',
      },
    );
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError('listener must be a function', { argument: 'listener' });
  }
}
