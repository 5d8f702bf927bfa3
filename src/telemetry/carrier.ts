/**
 * How trace context goes into and comes out of the string maps scaleout
 * carries it in (HTTP request headers, message headers), through the
 * application's propagator (`propagation.setGlobalPropagator`: W3C
 * `traceparent`/`tracestate` and `baggage` with the SDK's defaults).
 *
 * Incoming maps are foreign data: a value that is not a string (or a list
 * of strings, for Node's HTTP headers), a key that is only inherited, or an
 * oversized value is not read, and a propagator that throws on what it
 * reads leaves the context as it was. Trace context that cannot be read is
 * skipped, never an error: the work goes on in a new trace.
 *
 * @module
 */
import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { OtelApi } from './otel-api.js';

/** Longest header value read as trace context (W3C allows 512 bytes of `tracestate`; baggage 8 KiB). */
export const MAX_CONTEXT_HEADER_LENGTH = 8192;

type HeaderMap = Readonly<Record<string, unknown>>;

function readable(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_CONTEXT_HEADER_LENGTH ? value : undefined;
}

/**
 * Reads trace context from a header map: own keys only, string values (or
 * arrays of strings, as in Node's `IncomingHttpHeaders`), at most
 * {@link MAX_CONTEXT_HEADER_LENGTH} characters each.
 *
 * @internal
 */
export const headerGetter: TextMapGetter<HeaderMap> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    if (!Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    if (Array.isArray(value)) {
      const strings = value.filter((v): v is string => readable(v) !== undefined);
      return strings.length === value.length && strings.length > 0 ? strings : undefined;
    }
    return readable(value);
  },
};

/**
 * Writes trace context into a header map.
 *
 * @internal
 */
export const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/**
 * The context `headers` carry, on top of `base`; `base` itself when they
 * carry none, or none that can be read.
 *
 * @internal
 */
export function extractContext(api: OtelApi, base: Context, headers: unknown): Context {
  if (typeof headers !== 'object' || headers === null) return base;
  try {
    return api.propagation.extract(base, headers as HeaderMap, headerGetter);
  } catch {
    return base;
  }
}

/**
 * The headers the propagator writes for `context` (`traceparent`,
 * `tracestate`, `baggage`...), or `undefined` when it writes none (no
 * propagator registered, or nothing to propagate). A propagator that
 * throws writes nothing.
 *
 * @internal
 */
export function injectContext(api: OtelApi, context: Context): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  try {
    api.propagation.inject(context, carrier, headerSetter);
  } catch {
    return undefined;
  }
  for (const _ in carrier) return carrier;
  return undefined;
}
