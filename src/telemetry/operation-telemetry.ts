/**
 * Spans around the store operations of the primitives whose only telemetry
 * is "this waited on I/O": session writes, registry registrations and
 * discovery reads, JWKS fetches.
 *
 * ```text
 * request span
 *   └─ session regenerate (INTERNAL; error.type when it failed)
 *        └─ what the adapter's client records (ioredis instrumentation...)
 * ```
 *
 * The operation runs in its span's context, so the store client's own spans
 * are its children. Reads on the hot path (a session `get`/`touch`, a
 * registry `pick`, a JWKS key already held) make no span; with no SDK
 * registered nothing is made at all (one global read per operation).
 *
 * @module
 */
import type { Attributes, Span, SpanKind } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import { HTTP } from './semconv.js';
import { Telemetry } from './telemetry.js';
import type { TelemetryOptions } from './telemetry-options.js';

/**
 * The spans of one primitive's store operations.
 *
 * @internal
 */
export class OperationTelemetry {
  readonly #telemetry: Telemetry;

  private constructor(telemetry: Telemetry) {
    this.#telemetry = telemetry;
  }

  /** The operation spans of a primitive built with `options`, or `undefined` when tracing is off or the API absent. */
  static create(options: TelemetryOptions): OperationTelemetry | undefined {
    if (options.tracerProvider === false) return undefined;
    // Spans only; the meter provider stays as given so that idle() answers from one read.
    const telemetry = Telemetry.create({ tracerProvider: options.tracerProvider });
    return telemetry === undefined ? undefined : new OperationTelemetry(telemetry);
  }

  /** The API module (for span kinds and status codes). */
  get api(): Telemetry['api'] {
    return this.#telemetry.api;
  }

  /**
   * Runs `fn` in a span `name` (INTERNAL unless `kind` says otherwise) that
   * ends when its promise settles, with `error.type` when it rejects; just
   * runs it when nothing is recorded. `fn` gets the span (for attributes
   * known at the end) or `undefined`.
   */
  trace<R>(
    name: string,
    attributes: Attributes | undefined,
    fn: (span: Span | undefined) => Promise<R>,
    kind?: SpanKind,
  ): Promise<R> {
    if (this.#telemetry.idle()) return fn(undefined);
    const tracer = this.#telemetry.tracer();
    if (tracer === undefined) return fn(undefined);
    const api = this.#telemetry.api;
    const parent = api.context.active();
    const span = tracer.startSpan(name, { kind, attributes }, parent);
    let result: Promise<R>;
    try {
      result = api.context.with(api.trace.setSpan(parent, span), fn, undefined, span);
    } catch (err) {
      result = Promise.reject(err);
    }
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        if (span.isRecording()) {
          span.setAttribute(HTTP.errorType, errorType(err));
          span.setStatus({ code: api.SpanStatusCode.ERROR });
        }
        span.end();
        throw err;
      },
    );
  }
}

/**
 * `fn` in a span of `telemetry` (see {@link OperationTelemetry.trace}), or
 * just `fn` without telemetry.
 *
 * @internal
 */
export function traced<R>(
  telemetry: OperationTelemetry | undefined,
  name: string,
  attributes: Attributes | undefined,
  fn: (span: Span | undefined) => Promise<R>,
): Promise<R> {
  return telemetry === undefined ? fn(undefined) : telemetry.trace(name, attributes, fn);
}

/**
 * Replaces the methods `names` of `target` (its own properties, shadowing
 * the prototype's) by ones that run the original in a span named
 * `names[method]`. For primitives whose public writes are each one traced
 * operation (`SessionStore`): the class keeps its code unchanged.
 *
 * @internal
 */
export function traceMethods(
  target: object,
  telemetry: OperationTelemetry,
  names: Readonly<Record<string, string>>,
): void {
  const self = target as Record<string, unknown>;
  for (const [method, name] of Object.entries(names)) {
    const original = self[method] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(target, method, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: (...args: unknown[]) => telemetry.trace(name, undefined, () => original.apply(target, args)),
    });
  }
}
