/**
 * The spans and metrics of a {@link DistributedLock} or
 * {@link DistributedSemaphore}: an INTERNAL span `acquire lock` per acquire
 * that may wait (`waitMs` > 0), with the resource, how long it waited and
 * the fencing token granted; `scaleout.lock.wait.duration` (seconds, the
 * conventions' buckets). An acquire that cannot wait (`tryAcquire`,
 * `waitMs: 0`) is a hot path: no span.
 *
 * @module
 */
import type { Histogram, Span } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import { DURATION_BUCKETS_SECONDS, HTTP } from './semconv.js';
import { Instruments, type Telemetry } from './telemetry.js';

/** @internal The trace of one acquire. */
export interface AcquireTrace {
  readonly span: Span | undefined;
  readonly startedAt: number;
}

/** @internal */
export class LockTelemetry {
  readonly #telemetry: Telemetry;
  readonly #kind: string;
  readonly #instruments: Instruments<{ wait: Histogram }>;

  /** `kind`: `lock` or `semaphore`. */
  constructor(telemetry: Telemetry, kind: string) {
    this.#telemetry = telemetry;
    this.#kind = kind;
    this.#instruments = new Instruments(telemetry, (meter) => ({
      wait: meter.createHistogram('scaleout.lock.wait.duration', {
        unit: 's',
        description: 'Time an acquire that may wait took, granted or not.',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
      }),
    }));
  }

  /** Starts tracing an acquire of `resource` that may wait up to `waitMs`; `undefined`: nothing to record. */
  start(resource: string, waitMs: number): AcquireTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    const instruments = this.#instruments.get();
    if (tracer === undefined && instruments === undefined) return undefined;
    const span = tracer?.startSpan(`acquire ${this.#kind}`, {
      attributes: { 'scaleout.lock.resource': resource, 'scaleout.lock.wait_limit_ms': waitMs },
    });
    return { span, startedAt: performance.now() };
  }

  /** Ends it: granted with `fencingToken`, or refused with `error`. */
  end(trace: AcquireTrace, fencingToken: number | undefined, error?: unknown): void {
    const waitedS = (performance.now() - trace.startedAt) / 1000;
    const span = trace.span;
    const type = error === undefined ? undefined : errorType(error);
    if (span?.isRecording()) {
      span.setAttribute('scaleout.lock.waited_ms', Math.round(waitedS * 1000));
      if (fencingToken !== undefined) span.setAttribute('scaleout.lock.fencing_token', fencingToken);
      if (type !== undefined) {
        span.setAttribute(HTTP.errorType, type);
        span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
      }
    }
    span?.end();
    const attributes: Record<string, string> = { 'scaleout.lock.kind': this.#kind };
    if (type !== undefined) attributes[HTTP.errorType] = type;
    this.#instruments.get()?.wait.record(waitedS, attributes);
  }
}
