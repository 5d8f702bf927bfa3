/**
 * The spans and metrics of a {@link MessageQueue}, on the messaging
 * conventions.
 *
 * ```text
 * publisher's trace                       consumer (one span per delivery)
 * send order.created (PRODUCER)  ─ ─ ─ ─> process order.created (CONSUMER)
 *   messaging.system, .destination.name,    linked to the producer's span (default),
 *   .operation.type = send,                 or its child (consumerTrace: 'child');
 *   .message.id                             messaging.consumer.group.name,
 *   context written into the message's      scaleout.messaging.delivery_count;
 *   headers (traceparent, tracestate,       events retry (delay) / dead-letter (reason);
 *   baggage)                                the handler runs in its context
 * ```
 *
 * `messaging.system` is the adapter's own `messagingSystem` (the queue
 * adapter contract), never a guess from its class.
 *
 * The context travels in the message headers, which every adapter carries
 * unchanged (memory, Redis Streams, RabbitMQ), on retry copies, Streams
 * reclaims and RabbitMQ redeliveries alike. Headers from the wire are
 * foreign data: trace context that cannot be read is skipped (the delivery
 * starts a new trace), never an error. Metrics:
 * `messaging.client.operation.duration` and `messaging.client.sent.messages`
 * per publish, `messaging.process.duration` and
 * `messaging.client.consumed.messages` per delivery.
 *
 * @module
 */
import type { Attributes, Context, Counter, Histogram, Link, Span } from '@opentelemetry/api';
import { extractContext, injectContext } from './carrier.js';
import { errorType } from './error-type.js';
import { DURATION_BUCKETS_SECONDS, HTTP, MESSAGING, SCALEOUT } from './semconv.js';
import { Instruments, type Telemetry } from './telemetry.js';

/**
 * How a delivery's CONSUMER span relates to the producer's: `'linked'` (a
 * new trace with a link to the producer's span, as the conventions advise
 * for retried and batched work) or `'child'` (one trace across the queue).
 *
 * @example
 * ```ts
 * const mode: ConsumerTraceMode = 'child';
 * ```
 */
export type ConsumerTraceMode = 'linked' | 'child';

/**
 * `messaging.system` of an adapter: its `messagingSystem` (the queue adapter contract)
 * (a string of 1 to 64 characters), else `scaleout`.
 *
 * @internal
 */
export function messagingSystemOf(adapter: object): string {
  const own = (adapter as { messagingSystem?: unknown }).messagingSystem;
  return typeof own === 'string' && own.length > 0 && own.length <= 64 ? own : 'scaleout';
}

/** @internal The trace of one publish. */
export interface PublishTrace {
  readonly span: Span;
  readonly startedAt: number;
}

/** @internal The trace of one delivery. */
export interface ProcessTrace {
  readonly span: Span;
  readonly context: Context;
  readonly startedAt: number;
  readonly attributes: Attributes;
}

interface QueueInstruments {
  publishDuration: Histogram;
  sent: Counter;
  processDuration: Histogram;
  consumed: Counter;
}

/** @internal The telemetry of one {@link MessageQueue}. */
export class QueueTelemetry {
  readonly #telemetry: Telemetry;
  readonly #system: string;
  readonly #mode: ConsumerTraceMode;
  readonly #instruments: Instruments<QueueInstruments>;

  constructor(telemetry: Telemetry, system: string, mode: ConsumerTraceMode) {
    this.#telemetry = telemetry;
    this.#system = system;
    this.#mode = mode;
    this.#instruments = new Instruments(telemetry, (meter) => {
      const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] };
      return {
        publishDuration: meter.createHistogram('messaging.client.operation.duration', {
          unit: 's',
          description: 'Duration of messaging operations (publish).',
          advice,
        }),
        sent: meter.createCounter('messaging.client.sent.messages', {
          unit: '{message}',
          description: 'Messages published.',
        }),
        processDuration: meter.createHistogram('messaging.process.duration', {
          unit: 's',
          description: 'Duration of processing a delivery (handler and settlement).',
          advice,
        }),
        consumed: meter.createCounter('messaging.client.consumed.messages', {
          unit: '{message}',
          description: 'Deliveries handed to a consumer.',
        }),
      };
    });
  }

  /**
   * Opens the PRODUCER span of a publish and writes its context into
   * `headers` (the message's, already copied); `undefined` when there is
   * nothing to record (no tracer provider, no meter provider).
   */
  startPublish(topic: string, id: string, headers: Record<string, string>): PublishTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    const instruments = this.#instruments.get();
    if (tracer === undefined && instruments === undefined) return undefined;
    const api = this.#telemetry.api;
    let span: Span;
    if (tracer === undefined) {
      span = api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
    } else {
      const parent = api.context.active();
      span = tracer.startSpan(
        `send ${topic}`,
        {
          kind: api.SpanKind.PRODUCER,
          attributes: {
            [MESSAGING.system]: this.#system,
            [MESSAGING.destination]: topic,
            [MESSAGING.operationType]: 'send',
            [MESSAGING.operationName]: 'publish',
            [MESSAGING.messageId]: id,
          },
        },
        parent,
      );
      if (span.isRecording() || api.trace.getSpan(parent) !== undefined) {
        const injected = injectContext(api, api.trace.setSpan(parent, span));
        if (injected !== undefined) Object.assign(headers, injected);
      }
    }
    return { span, startedAt: instruments === undefined ? 0 : performance.now() };
  }

  /** Ends a publish's span (with the error, when it failed) and records it. */
  endPublish(trace: PublishTrace, topic: string, error?: unknown): void {
    const span = trace.span;
    const type = error === undefined ? undefined : errorType(error);
    if (type !== undefined && span.isRecording()) {
      span.setAttribute(HTTP.errorType, type);
      span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
    }
    span.end();
    const instruments = this.#instruments.get();
    if (instruments !== undefined) {
      const attributes: Attributes = {
        [MESSAGING.system]: this.#system,
        [MESSAGING.destination]: topic,
        [MESSAGING.operationType]: 'send',
        [MESSAGING.operationName]: 'publish',
      };
      if (type !== undefined) attributes[HTTP.errorType] = type;
      instruments.publishDuration.record((performance.now() - trace.startedAt) / 1000, attributes);
      instruments.sent.add(1, attributes);
    }
  }

  /**
   * Opens the CONSUMER span of a delivery: linked to (or a child of) the
   * context its headers carry, when they carry one that can be read.
   */
  startProcess(
    topic: string,
    group: string,
    delivery: { id: string; headers: Readonly<Record<string, string>>; deliveryCount: number },
  ): ProcessTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    const instruments = this.#instruments.get();
    if (tracer === undefined && instruments === undefined) return undefined;
    const api = this.#telemetry.api;
    const attributes: Attributes = {
      [MESSAGING.system]: this.#system,
      [MESSAGING.destination]: topic,
      [MESSAGING.consumerGroup]: group,
      [MESSAGING.operationType]: 'process',
      [MESSAGING.operationName]: 'process',
    };
    const base = api.context.active();
    let span: Span;
    let context: Context;
    if (tracer === undefined) {
      span = api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
      context = base;
    } else {
      const carried = extractContext(api, base, delivery.headers);
      const producer = carried === base ? undefined : api.trace.getSpanContext(carried);
      const valid = producer !== undefined && api.isSpanContextValid(producer);
      const child = valid && this.#mode === 'child';
      const links: Link[] | undefined = valid && !child ? [{ context: producer }] : undefined;
      // Baggage crosses the queue either way; only the parent differs.
      const parent = child ? carried : api.trace.deleteSpan(carried);
      span = tracer.startSpan(
        `process ${topic}`,
        {
          kind: api.SpanKind.CONSUMER,
          attributes: {
            ...attributes,
            [MESSAGING.messageId]: delivery.id,
            [SCALEOUT.deliveryCount]: delivery.deliveryCount,
          },
          links,
        },
        parent,
      );
      context = api.trace.setSpan(parent, span);
    }
    return {
      span,
      context,
      startedAt: instruments === undefined ? 0 : performance.now(),
      attributes,
    };
  }

  /** Runs `fn` (the handler) in the delivery's context. */
  run<R>(trace: ProcessTrace, fn: () => R): R {
    return this.#telemetry.api.context.with(trace.context, fn);
  }

  /** The handler failed and the message will be retried after `delayMs`. */
  retrying(trace: ProcessTrace, delayMs: number, error: unknown): void {
    if (trace.span.isRecording()) {
      trace.span.addEvent('retry', {
        [SCALEOUT.retryDelayMs]: delayMs,
        [SCALEOUT.retryReason]: errorType(error),
      });
    }
  }

  /** The message goes to the dead letters. */
  deadLettered(trace: ProcessTrace, reason: string, deadLetterTopic: string | undefined): void {
    if (trace.span.isRecording()) {
      const attributes: Attributes = { reason };
      if (deadLetterTopic !== undefined) attributes[MESSAGING.destination] = deadLetterTopic;
      trace.span.addEvent('dead-letter', attributes);
    }
  }

  /** Ends a delivery's span: `outcome` ack, retry or dead-letter; `error` the handler's, if any. */
  endProcess(trace: ProcessTrace, outcome: string, error: unknown): void {
    const span = trace.span;
    const type = error === undefined ? undefined : errorType(error);
    if (span.isRecording()) {
      span.setAttribute(SCALEOUT.outcome, outcome);
      if (type !== undefined) {
        span.setAttribute(HTTP.errorType, type);
        span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
      }
    }
    span.end();
    const instruments = this.#instruments.get();
    if (instruments !== undefined) {
      const attributes = trace.attributes;
      if (type !== undefined) attributes[HTTP.errorType] = type;
      instruments.processDuration.record((performance.now() - trace.startedAt) / 1000, attributes);
      instruments.consumed.add(1, attributes);
    }
  }
}
