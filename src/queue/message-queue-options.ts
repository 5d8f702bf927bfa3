import type { QueueAdapter, QueueConnectionState } from '../contracts/queue.js';
import type { Idempotency } from '../idempotency/idempotency.js';
import type { ConsumerTraceMode } from '../telemetry/queue-telemetry.js';
import type { TelemetryOptions } from '../telemetry/telemetry-options.js';
import type { BaseOptions, Serializer } from '../types.js';

/**
 * Options of {@link MessageQueue}. All optional.
 *
 * @example
 * ```ts
 * const queue = new MessageQueue({ adapter: memoryQueueAdapter(), maxDeliveries: 3, retryMaxMs: 2_000 });
 * ```
 */
export interface MessageQueueOptions extends BaseOptions<QueueAdapter>, TelemetryOptions {
  /**
   * The back end. An adapter you pass is yours: `close()` of the queue
   * leaves it open (close it yourself, after every queue using it).
   * @default an in-process {@link MemoryQueueAdapter} (`memoryQueueAdapter()`), created and closed by the queue
   */
  adapter?: QueueAdapter;
  /** Encodes messages for the wire. @default jsonSerializer */
  serializer?: Serializer;
  /** Default for {@link ConsumeOptions.maxDeliveries}. @default 5 */
  maxDeliveries?: number;
  /** Default for {@link ConsumeOptions.prefetch}. @default 10 */
  prefetch?: number;
  /** Scale of the first retry delay (capped full jitter), in ms. @default 100 */
  retryBaseMs?: number;
  /** Longest retry delay, in ms. @default 5_000 */
  retryMaxMs?: number;
  /** How long `close()` of a consumer waits for handlers in flight, in ms. @default 30_000 */
  closeTimeoutMs?: number;
  /** Suffix of the default dead-letter topic (`order.created` + `.dead`). @default '.dead' */
  deadLetterSuffix?: string;
  /**
   * Largest message accepted, in bytes (UTF-8): the serialized payload plus
   * the header names and values. `publish` refuses a larger one with
   * `PayloadTooLargeError` before anything is sent; a consumer dead-letters
   * a larger one (written by another producer) without calling the handler.
   * At most 134_217_728 (128 MiB); brokers have their own cap too (RabbitMQ
   * 4: 16 MiB by default). @default 1_048_576 (1 MiB)
   */
  maxMessageBytes?: number;
  /**
   * How each delivery's CONSUMER span relates to the PRODUCER span of its
   * publish (OpenTelemetry): `'linked'` starts a new trace linked to it, as
   * the messaging conventions advise for retried work; `'child'` continues
   * the producer's trace. @default 'linked'
   */
  consumerTrace?: ConsumerTraceMode;
}

/**
 * The defaults of {@link MessageQueueOptions}.
 *
 * @example
 * ```ts
 * const queue = new MessageQueue({ maxDeliveries: MESSAGE_QUEUE_DEFAULTS.maxDeliveries * 2 });
 * ```
 */
export const MESSAGE_QUEUE_DEFAULTS: Readonly<
  Required<
    Omit<
      MessageQueueOptions,
      'adapter' | 'serializer' | 'logger' | 'clock' | 'tracerProvider' | 'meterProvider'
    >
  >
> = {
  maxDeliveries: 5,
  prefetch: 10,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
  closeTimeoutMs: 30_000,
  deadLetterSuffix: '.dead',
  maxMessageBytes: 1_048_576,
  consumerTrace: 'linked',
};

/**
 * Options of a consumer's stop ({@link MessageConsumer.unsubscribe} and
 * {@link MessageConsumer.close}).
 *
 * @example
 * ```ts
 * await consumer.close({ signal: AbortSignal.timeout(5_000) }); // a deadline shorter than closeTimeoutMs
 * ```
 */
export interface ConsumerStopOptions {
  /**
   * Ends the wait for handlers in flight when it aborts (before
   * `closeTimeoutMs`): the adapter's subscription is released at once, and
   * the messages not yet acknowledged go back to the back end for another
   * consumer. `ServiceLifecycle` passes its stop deadline here.
   */
  signal?: AbortSignal;
}

/**
 * Options of {@link MessageQueue.publish}.
 *
 * @example
 * ```ts
 * await queue.publish('order.created', order, { messageId: `order-${order.id}`, headers: { tenant: 'acme' } });
 * ```
 */
export interface PublishOptions {
  /** Store the message so that it survives a broker restart. @default true */
  persistent?: boolean;
  /** String headers carried with the message. @default {} */
  headers?: Record<string, string>;
  /** The message id consumers deduplicate on. @default a new UUID v7 */
  messageId?: string;
  /** Stops waiting for the broker when aborted (the message may still be stored). */
  signal?: AbortSignal;
}

/**
 * Options of {@link MessageQueue.consume}.
 *
 * @example
 * ```ts
 * await queue.consume('order.created', handler, { group: 'inventory', prefetch: 1, maxDeliveries: 3 });
 * ```
 */
export interface ConsumeOptions {
  /**
   * Consumer group: every group receives every message once; consumers of
   * one group share them. @default 'default'
   */
  group?: string;
  /** Most messages handled at once by this consumer. @default MessageQueueOptions.prefetch (10) */
  prefetch?: number;
  /**
   * Deliveries before a message is dead-lettered (the first delivery
   * counts). @default MessageQueueOptions.maxDeliveries (5)
   */
  maxDeliveries?: number;
  /**
   * Topic that receives messages given up on, or `false` to drop them
   * (they are still reported by the `dead-letter` event).
   * @default topic + MessageQueueOptions.deadLetterSuffix ('order.created.dead')
   */
  deadLetter?: string | false;
  /**
   * Skip messages this group already processed: a message id done before
   * (within the Idempotency's `ttlMs`) is acknowledged without calling the
   * handler, so a redelivery (a consumer died after its effect, before its
   * ack) has one effect. Share the Idempotency's store (Redis) between the
   * group's consumers. @default undefined (at-least-once: redeliveries run)
   */
  dedupe?: Idempotency;
}

/**
 * What a handler learns about the message besides its payload.
 *
 * @example
 * ```ts
 * await queue.consume('order.created', async (order, ctx) => {
 *   if (await seen(ctx.id)) return; // deduplicate redeliveries
 * });
 * ```
 */
export interface MessageContext {
  /** The message id: the same on every redelivery, use it to deduplicate. */
  id: string;
  /** The topic. */
  topic: string;
  /** The consumer group. */
  group: string;
  /** Headers given at publication. */
  headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery; more after failures or a consumer crash. */
  deliveryCount: number;
  /** Publication time, ms since the epoch, when known. */
  publishedAt: number | undefined;
}

/**
 * A message that was given up on, as read from a dead-letter topic.
 *
 * @example
 * ```ts
 * await queue.consumeDeadLetters('order.created', (dead) => alert(dead.reason, dead.error.message));
 * ```
 */
export interface DeadLetter {
  /** The original message id. */
  id: string;
  /** The topic it failed on. */
  topic: string;
  /** The consumer group that gave up. */
  group: string;
  /**
   * `handler-error` (the handler kept throwing), `unparseable` (the message
   * could not be read: malformed, unsafe, larger than `maxMessageBytes`, or
   * a foreign record; `error` says which), or `unknown` (dead-lettered by
   * the broker or another program).
   */
  reason: 'handler-error' | 'unparseable' | 'unknown';
  /** The last error. */
  error: {
    /** Its name, e.g. `TypeError`. */
    name: string;
    /** Its message (at most 1000 characters). */
    message: string;
  };
  /** Deliveries attempted. */
  deliveries: number;
  /** When it was dead-lettered, ms since the epoch (0 when unknown). */
  deadAt: number;
  /**
   * The raw payload, as published; for a record that could not be read as
   * text, see the `x-scaleout-body-format` header (`base64`, or a foreign
   * stream entry's fields: `redis-stream-fields`, `redis-stream-fields-base64`).
   */
  body: string;
  /** Every header, scaleout's included. */
  headers: Readonly<Record<string, string>>;
}

/**
 * Payload of the `retry` event: a handler failed and the message will be
 * delivered again after `delayMs`.
 *
 * @example
 * ```ts
 * queue.on('retry', (e: QueueRetryEvent) => log.warn('retrying', { id: e.id, attempt: e.deliveryCount }));
 * ```
 */
export interface QueueRetryEvent {
  /** The topic. */
  topic: string;
  /** The consumer group. */
  group: string;
  /** The message id. */
  id: string;
  /** The delivery that failed (1 for the first). */
  deliveryCount: number;
  /** The backoff before the message goes back to the queue, in ms. */
  delayMs: number;
  /** What the handler threw. */
  error: unknown;
}

/**
 * Payload of the `dead-letter` event: a message was moved to the dead
 * letters (or dropped, when `deadLetterTopic` is undefined).
 *
 * @example
 * ```ts
 * queue.on('dead-letter', (e: DeadLetterEvent) => metrics.deadLetters.inc({ topic: e.topic, reason: e.reason }));
 * ```
 */
export interface DeadLetterEvent {
  /** The topic. */
  topic: string;
  /** The consumer group. */
  group: string;
  /** The message id. */
  id: string;
  /**
   * `handler-error` (delivery limit reached) or `unparseable` (malformed,
   * unsafe, too large or a foreign record: `error` says which).
   */
  reason: 'handler-error' | 'unparseable';
  /** Deliveries attempted. */
  deliveryCount: number;
  /** Where it went; `undefined` when dead letters are dropped. */
  deadLetterTopic: string | undefined;
  /** The last error. */
  error: unknown;
}

/**
 * Payload of the `error` event: the back end failed to acknowledge, retry
 * or move a message (it stays unacknowledged and is redelivered), or a
 * consumer cannot read its topic (it keeps trying: `id` is then undefined;
 * `error` is a `CorruptDataError` when the topic's key holds foreign data).
 *
 * @example
 * ```ts
 * queue.on('error', (e: QueueErrorEvent) => log.error('queue back end failed', { id: e.id }));
 * ```
 */
export interface QueueErrorEvent {
  /** The topic. */
  topic: string;
  /** The consumer group. */
  group: string;
  /** The message id; undefined when the failure is not about one message. */
  id: string | undefined;
  /** What the back end threw. */
  error: unknown;
}

/**
 * Events of a {@link MessageQueue}, by name.
 *
 * @example
 * ```ts
 * const off = queue.on('dead-letter', (e) => alert(e.topic, e.id));
 * ```
 */
export type MessageQueueEvents = {
  /** A handler failed; the message will be delivered again. */
  retry: QueueRetryEvent;
  /** A message was given up on. */
  'dead-letter': DeadLetterEvent;
  /** The back end failed to settle a message. */
  error: QueueErrorEvent;
  /** The back end's connection changed state (lost, back, closed): see `queue.connectionState`. */
  connection: QueueConnectionEvent;
};

/**
 * Payload of a {@link MessageQueue} `connection` event.
 *
 * @example
 * ```ts
 * queue.on('connection', ({ state, previous }) => log.warn('queue connection', { state, previous }));
 * ```
 */
export interface QueueConnectionEvent {
  /** The state now. */
  readonly state: QueueConnectionState;
  /** The state before. */
  readonly previous: QueueConnectionState | 'unknown';
}
