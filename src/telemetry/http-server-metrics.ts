/**
 * `http.server.request.duration`, fed by the monitor's own recording.
 *
 * ```text
 * response 'close' ── PerformanceMonitor records (now - start) ms ──┬─▶ its series (Prometheus text)
 *                     (one clock read, one duration)                └─▶ http.server.request.duration
 *                                                                        (that duration / 1000, seconds)
 * ```
 *
 * The HTTP tracking (http-tracking.ts), and `monitor.recordResponse()`,
 * hand the duration the monitor just recorded to
 * {@link recordServerDuration}: one measurement feeds both the
 * Prometheus exposition and the OpenTelemetry histogram, so the two always
 * agree (same count, same sum). With several monitors on one response,
 * only the first one's duration is recorded here (one data point per
 * request). Uses the global meter provider, as the SERVER span uses the
 * global tracer provider.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Attributes, Histogram } from '@opentelemetry/api';
import { DURATION_BUCKETS_SECONDS, HTTP, httpMethod } from './semconv.js';
import { Instruments, Telemetry } from './telemetry.js';

interface ServerMetrics {
  readonly telemetry: Telemetry;
  readonly instruments: Instruments<{ duration: Histogram }>;
}

/** `undefined`: not made yet; `null`: no `@opentelemetry/api`. */
let shared: ServerMetrics | null | undefined;

function serverMetrics(): ServerMetrics | undefined {
  if (shared === undefined) {
    const telemetry = Telemetry.create({});
    shared =
      telemetry === undefined
        ? null
        : {
            telemetry,
            instruments: new Instruments(telemetry, (meter) => ({
              duration: meter.createHistogram('http.server.request.duration', {
                unit: 's',
                description: 'Duration of HTTP server requests.',
                advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
              }),
            })),
          };
  }
  return shared ?? undefined;
}

/**
 * Records `durationMs` (what the monitor recorded for one response) as
 * `http.server.request.duration` in seconds, with the conventions'
 * attributes: `http.request.method` (`_OTHER` for a method the conventions
 * do not know or a missing one), `url.scheme` (when known), `http.route`
 * (when a route template was found), `http.response.status_code` (a status
 * from 100 to 599; none when the client went away first) and `error.type`
 * (`aborted`, or the status from 500). Nothing when no meter provider is
 * registered.
 *
 * @internal
 */
export function recordServerDuration(
  durationMs: number,
  method: unknown,
  route: unknown,
  status: number | undefined,
  scheme: string | undefined,
): void {
  const metrics = serverMetrics();
  if (metrics === undefined || metrics.telemetry.idle()) return;
  const instruments = metrics.instruments.get();
  if (instruments === undefined || !(durationMs >= 0)) return;
  const attributes: Attributes = {
    [HTTP.method]: typeof method === 'string' ? httpMethod(method.toUpperCase()) : '_OTHER',
  };
  if (scheme !== undefined) attributes[HTTP.urlScheme] = scheme;
  if (typeof route === 'string' && route.length <= 256) attributes[HTTP.route] = route;
  if (status === undefined) {
    attributes[HTTP.errorType] = 'aborted';
  } else if (Number.isInteger(status) && status >= 100 && status <= 599) {
    attributes[HTTP.status] = status;
    if (status >= 500) attributes[HTTP.errorType] = String(status);
  }
  instruments.duration.record(durationMs / 1000, attributes);
}

/**
 * `url.scheme` of a request: `https` on a TLS socket, else `http`.
 *
 * @internal
 */
export function schemeOf(req: IncomingMessage): string {
  return (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
}
