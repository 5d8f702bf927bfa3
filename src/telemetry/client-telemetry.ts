/**
 * The spans and metrics of a {@link ServiceClient}.
 *
 * ```text
 * GET (CLIENT, the call: http.request.method, scaleout.service)
 *  ├─ event retry (scaleout.retry.reason, scaleout.retry.delay_ms, scaleout.attempt)
 *  ├─ event retry-budget-exhausted
 *  ├─ GET (CLIENT, attempt 1: server.address, server.port, url.full, scaleout.instance.id,
 *  │       scaleout.breaker.state, scaleout.deadline.remaining_ms, http.response.status_code, error.type)
 *  │    └─ event breaker-state-change (from, to), when this attempt's outcome moved the breaker
 *  └─ GET (CLIENT, attempt 2: ... http.request.resend_count = 1)
 * ```
 *
 * Each attempt's span context goes out in its request headers through the
 * global propagator (`traceparent`, `tracestate`, `baggage`). Per attempt,
 * `http.client.request.duration` (seconds, the conventions' buckets), from
 * the latency the client measures once for its `attempt` event (what
 * `PerformanceMonitor.observeClient` records): one measurement, both sinks; per
 * breaker transition and budget refusal, a counter. Nothing of the
 * request's headers, body or credentials is recorded; `url.full` is
 * redacted ({@link spanUrl}).
 *
 * @module
 */
import type { Attributes, Context, Counter, Histogram, Span, Tracer } from '@opentelemetry/api';
import type { CallOutcome, UpstreamInstance } from '../contracts/upstream.js';
import type { CircuitStateChange } from '../resilience/circuit-breaker.js';
import type { RetryInfo } from '../resilience/retry-policy.js';
import { injectContext } from './carrier.js';
import { errorType } from './error-type.js';
import { DURATION_BUCKETS_SECONDS, HTTP, httpMethod, SCALEOUT } from './semconv.js';
import { spanUrl } from './span-url.js';
import { Instruments, type Telemetry } from './telemetry.js';

/** What a call's trace needs of the call. */
interface CallShape {
  readonly method: string;
  readonly url: string;
  readonly absolute: boolean;
}

/**
 * The trace of one call (its span and the context attempts start in).
 *
 * @internal
 */
export interface CallTrace {
  readonly tracer: Tracer;
  readonly span: Span;
  readonly context: Context;
}

/**
 * The trace of one attempt.
 *
 * @internal
 */
export interface AttemptTrace {
  readonly span: Span;
  /** The trace headers to send, if the propagator writes any. */
  readonly headers: Record<string, string> | undefined;
  /** The attributes of `http.client.request.duration`; `undefined` when metrics are off (then the latency is not needed). */
  readonly metricAttributes: Attributes | undefined;
}

interface ClientInstruments {
  duration: Histogram;
  breakerTransitions: Counter;
  budgetRefusals: Counter;
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** `server.address` and `server.port` of an instance URL, cached per URL. */
const SERVERS = new Map<string, { address: string; port: number } | null>();

function serverOf(instanceUrl: string): { address: string; port: number } | undefined {
  let server = SERVERS.get(instanceUrl);
  if (server === undefined) {
    try {
      const url = new URL(instanceUrl);
      server = { address: url.hostname.replace(/^\[|\]$/g, ''), port: portOf(url) };
    } catch {
      server = null;
    }
    if (SERVERS.size >= 1_024) SERVERS.clear();
    SERVERS.set(instanceUrl, server);
  }
  return server ?? undefined;
}

/**
 * The telemetry of one {@link ServiceClient}.
 *
 * @internal
 */
export class ClientTelemetry {
  readonly #telemetry: Telemetry;
  readonly #service: string;
  readonly #instruments: Instruments<ClientInstruments>;
  /** The call each failed attempt's error belongs to (for the `retry` event). */
  readonly #callOf = new WeakMap<object, CallTrace>();
  /** The attempt whose outcome the breaker is being told of (its transitions become events). */
  #releasing: AttemptTrace | undefined;

  constructor(telemetry: Telemetry, service: string) {
    this.#telemetry = telemetry;
    this.#service = service;
    this.#instruments = new Instruments(telemetry, (meter) => ({
      duration: meter.createHistogram('http.client.request.duration', {
        unit: 's',
        description: 'Duration of HTTP client requests (one per attempt).',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
      }),
      breakerTransitions: meter.createCounter('scaleout.client.breaker.transitions', {
        unit: '{transition}',
        description: 'Circuit breaker state changes, by instance and new state.',
      }),
      budgetRefusals: meter.createCounter('scaleout.client.retry_budget.refusals', {
        unit: '{refusal}',
        description: 'Retries refused by the retry budget.',
      }),
    }));
  }

  /** Opens the span of a call (a child of the active context). */
  startCall(call: CallShape): CallTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    if (tracer === undefined) return undefined;
    const api = this.#telemetry.api;
    const method = httpMethod(call.method);
    const parent = api.context.active();
    const span = tracer.startSpan(
      method,
      {
        kind: api.SpanKind.CLIENT,
        attributes: { [HTTP.method]: method, [SCALEOUT.service]: this.#service },
      },
      parent,
    );
    if (method === '_OTHER' && span.isRecording()) span.setAttribute(HTTP.methodOriginal, call.method);
    return { tracer, span, context: api.trace.setSpan(parent, span) };
  }

  /** Ends the span of a call: OK, or the error that ended it. */
  endCall(trace: CallTrace, error?: unknown): void {
    const span = trace.span;
    if (error !== undefined && span.isRecording()) {
      span.setAttribute(HTTP.errorType, errorType(error));
      span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
    }
    span.end();
  }

  /**
   * Opens the span of an attempt to `instance` (a child of the call's);
   * `undefined` when the call is not traced and metrics are off.
   */
  startAttempt(
    trace: CallTrace | undefined,
    call: CallShape,
    attempt: number,
    instance: UpstreamInstance,
    breakerState: string,
    deadlineLeftMs: number,
  ): AttemptTrace | undefined {
    if (trace === undefined && this.#telemetry.idle()) return undefined;
    const instruments = this.#instruments.get();
    if (trace === undefined && instruments === undefined) return undefined;
    const api = this.#telemetry.api;
    const method = httpMethod(call.method);
    const server = serverOf(instance.url);
    let span: Span;
    if (trace === undefined) {
      span = api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
    } else {
      span = trace.tracer.startSpan(method, { kind: api.SpanKind.CLIENT }, trace.context);
      if (span.isRecording()) {
        const attributes: Attributes = {
          [HTTP.method]: method,
          [SCALEOUT.instance]: instance.id,
          [SCALEOUT.breakerState]: breakerState,
          [SCALEOUT.deadlineLeftMs]: Math.max(0, Math.round(deadlineLeftMs)),
          [SCALEOUT.attempt]: attempt,
        };
        if (method === '_OTHER') attributes[HTTP.methodOriginal] = call.method;
        if (server !== undefined) {
          attributes[HTTP.serverAddress] = server.address;
          attributes[HTTP.serverPort] = server.port;
        }
        const full = spanUrl(call.absolute ? undefined : instance.url, call.url);
        if (full !== undefined) attributes[HTTP.urlFull] = full;
        if (attempt > 1) attributes[HTTP.resendCount] = attempt - 1;
        span.setAttributes(attributes);
      }
    }
    const headers =
      trace === undefined ? undefined : injectContext(api, api.trace.setSpan(trace.context, span));
    let metricAttributes: Attributes | undefined;
    if (instruments !== undefined) {
      metricAttributes = { [HTTP.method]: method };
      if (server !== undefined) {
        metricAttributes[HTTP.serverAddress] = server.address;
        metricAttributes[HTTP.serverPort] = server.port;
      }
    }
    return { span, headers, metricAttributes };
  }

  /** Marks the breaker release of `attempt` (its transitions become its events), or its end. */
  releasing(attempt: AttemptTrace | undefined): void {
    this.#releasing = attempt;
  }

  /**
   * Ends the span of an attempt and records `latencyMs` (the client's one
   * measurement of it, also in its `attempt` event) as its duration.
   */
  endAttempt(
    trace: CallTrace | undefined,
    attempt: AttemptTrace,
    outcome: CallOutcome,
    status: number | undefined,
    error: Error | undefined,
    latencyMs: number,
  ): void {
    const span = attempt.span;
    let type: string | undefined;
    if (status !== undefined && status >= 400) type = String(status);
    else if (error !== undefined) type = errorType(error);
    if (span.isRecording()) {
      if (status !== undefined) span.setAttribute(HTTP.status, status);
      span.setAttribute(SCALEOUT.outcome, outcome);
      if (type !== undefined) {
        span.setAttribute(HTTP.errorType, type);
        span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
      }
    }
    span.end();
    if (error !== undefined && trace !== undefined) this.#callOf.set(error, trace);
    const attributes = attempt.metricAttributes;
    if (attributes !== undefined) {
      if (status !== undefined) attributes[HTTP.status] = status;
      if (type !== undefined) attributes[HTTP.errorType] = type;
      this.#instruments.get()?.duration.record(latencyMs / 1000, attributes);
    }
  }

  /** A retry is about to wait `info.delayMs`: an event on the call's span. */
  retry(info: RetryInfo): void {
    const trace = this.#callOf.get(info.error as object);
    if (trace === undefined || !trace.span.isRecording()) return;
    trace.span.addEvent('retry', {
      [SCALEOUT.attempt]: info.attempt,
      [SCALEOUT.retryDelayMs]: info.delayMs,
      [SCALEOUT.retryReason]: errorType(info.error),
    });
  }

  /** The retry budget refused a retry of the call. */
  budgetRefused(trace: CallTrace | undefined): void {
    if (trace?.span.isRecording()) trace.span.addEvent('retry-budget-exhausted');
    this.#instruments.get()?.budgetRefusals.add(1, { [SCALEOUT.service]: this.#service });
  }

  /** An instance's breaker changed state. */
  breakerChanged(instanceId: string, change: CircuitStateChange): void {
    const span = this.#releasing?.span;
    if (span?.isRecording()) span.addEvent('breaker-state-change', { from: change.from, to: change.to });
    this.#instruments.get()?.breakerTransitions.add(1, {
      [SCALEOUT.service]: this.#service,
      [SCALEOUT.instance]: instanceId,
      [SCALEOUT.breakerState]: change.to,
    });
  }
}
