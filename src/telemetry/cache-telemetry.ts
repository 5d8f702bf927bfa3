/**
 * The spans and metrics of a {@link DistributedCache}: an INTERNAL span
 * `load cache` per loader run (a miss, a background or early refresh),
 * covering the loader and the store of its value, with the loader running
 * in its context (its database calls are its children);
 * `scaleout.cache.load.duration` (seconds, the conventions' buckets). Hits
 * and other in-memory paths record nothing. The key is not recorded (keys
 * often hold user or session ids).
 *
 * @module
 */
import type { Context, Histogram, Span } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import { DURATION_BUCKETS_SECONDS, HTTP } from './semconv.js';
import { Instruments, type Telemetry } from './telemetry.js';

/** @internal The trace of one loader run. */
export interface LoadTrace {
  readonly span: Span | undefined;
  readonly context: Context | undefined;
  readonly startedAt: number;
  readonly kind: string;
}

/** @internal */
export class CacheTelemetry {
  readonly #telemetry: Telemetry;
  readonly #instruments: Instruments<{ load: Histogram }>;

  constructor(telemetry: Telemetry) {
    this.#telemetry = telemetry;
    this.#instruments = new Instruments(telemetry, (meter) => ({
      load: meter.createHistogram('scaleout.cache.load.duration', {
        unit: 's',
        description: 'Duration of cache loader runs (load and store), by kind.',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
      }),
    }));
  }

  /** Starts tracing a loader run; `undefined`: nothing to record. */
  start(background: boolean, early: boolean): LoadTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    if (tracer === undefined && this.#instruments.get() === undefined) return undefined;
    const kind = early ? 'early-refresh' : background ? 'refresh' : 'miss';
    const api = this.#telemetry.api;
    const parent = api.context.active();
    const span = tracer?.startSpan(
      'load cache',
      { attributes: { 'scaleout.cache.load.kind': kind } },
      parent,
    );
    return {
      span,
      context: span === undefined ? undefined : api.trace.setSpan(parent, span),
      startedAt: performance.now(),
      kind,
    };
  }

  /** Runs the loader in the run's context. */
  run<R>(trace: LoadTrace, fn: () => R): R {
    return trace.context === undefined ? fn() : this.#telemetry.api.context.with(trace.context, fn);
  }

  /** Ends it (with the error, when the loader or the store failed). */
  end(trace: LoadTrace, error?: unknown): void {
    const type = error === undefined ? undefined : errorType(error);
    const span = trace.span;
    if (type !== undefined && span?.isRecording()) {
      span.setAttribute(HTTP.errorType, type);
      span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
    }
    span?.end();
    const attributes: Record<string, string> = { 'scaleout.cache.load.kind': trace.kind };
    if (type !== undefined) attributes[HTTP.errorType] = type;
    this.#instruments.get()?.load.record((performance.now() - trace.startedAt) / 1000, attributes);
  }
}
