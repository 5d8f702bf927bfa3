import { memoryQueueAdapter } from '../adapters/memory/memory-queue-adapter.js';
import type { QueueAdapter, QueueConnectionState, QueueDelivery } from '../contracts/queue.js';
import { QUEUE_HEADERS } from '../contracts/queue.js';
import { InvalidArgumentError, InvalidOptionsError, SerializationError } from '../errors.js';
import { dedupeHandler } from '../idempotency/queue-dedupe.js';
import { isAbortSignal } from '../internal/abort.js';
import { TypedEmitter } from '../internal/events.js';
import { assertWritesFaithfully } from '../internal/faithful.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { durationOption, hasControlCharacter, isWellFormed, keyArgument } from '../internal/validate.js';
import { fullJitterBackoff } from '../resilience/backoff.js';
import { jsonSerializer } from '../serializer.js';
import { messagingSystemOf, QueueTelemetry } from '../telemetry/queue-telemetry.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { type Clock, type Serializer, type Subscription, systemClock } from '../types.js';
import { MAX_GROUP_LENGTH, MAX_MESSAGE_ID_LENGTH, MAX_TOPIC_LENGTH } from './adapter-input.js';
import { MessageConsumer } from './message-consumer.js';
import { newMessageId } from './message-id.js';
import {
  checkConsumeOptions,
  checkDeadLetterOptions,
  checkListener,
  checkMessageSize,
  checkPublishOptions,
  checkQueueOptions,
  checkQueueParts,
  countArgument,
  countOption,
  MAX_MESSAGE_BYTES_LIMIT,
  publishHeaders,
} from './message-queue-checks.js';
import {
  type ConsumeOptions,
  type DeadLetter,
  MESSAGE_QUEUE_DEFAULTS,
  type MessageContext,
  type MessageQueueEvents,
  type MessageQueueOptions,
  type PublishOptions,
} from './message-queue-options.js';

/**
 * A message handler: resolve to acknowledge, throw to retry.
 *
 * @example
 * ```ts
 * const handler: MessageHandler<{ orderId: string }> = async (order, { id, deliveryCount }) => reserve(order.orderId);
 * ```
 */
export type MessageHandler<T> = (message: T, context: MessageContext) => unknown;

/**
 * At-least-once messaging with retries and dead letters, over a pluggable
 * back end: in-process (default), RabbitMQ (`amqpQueueAdapter` from
 * `scaleout/amqp`) or Redis Streams (`redisStreamsQueueAdapter` from
 * `scaleout/redis`).
 *
 * A handler that resolves acknowledges its message; one that throws gets it
 * again later (capped full-jitter backoff), and after `maxDeliveries` the
 * message moves to the dead-letter topic with the error recorded. A message
 * that cannot be parsed goes straight to the dead letters. Every message
 * carries an id (UUID v7 unless given) that stays the same on redelivery, for
 * consumer-side deduplication.
 *
 * @example
 * ```ts
 * const queue = new MessageQueue();
 * await queue.consume<Order>('order.created', async (order, { id }) => {
 *   await reserveStock(order, { idempotencyKey: id });
 * }, { prefetch: 1, maxDeliveries: 3 });
 * await queue.publish('order.created', { orderId: 42 });
 * ```
 */
export class MessageQueue {
  readonly #adapter: QueueAdapter;
  /** Whether this queue created its adapter (and so closes it). */
  readonly #ownsAdapter: boolean;
  readonly #clock: Clock;
  readonly #life = new Lifecycle('message queue');
  readonly #serializer: Serializer;
  readonly #events: TypedEmitter<MessageQueueEvents>;
  readonly #maxDeliveries: number;
  readonly #prefetch: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #closeTimeoutMs: number;
  readonly #deadLetterSuffix: string;
  readonly #maxMessageBytes: number;
  readonly #consumers = new Set<MessageConsumer>();
  readonly #telemetry: QueueTelemetry | undefined;
  readonly #connectionWatch: Subscription | undefined;

  constructor(options: MessageQueueOptions = {}) {
    const d = MESSAGE_QUEUE_DEFAULTS;
    checkQueueOptions(options);
    checkQueueParts(options);
    this.#maxMessageBytes = countOption(
      'maxMessageBytes',
      options.maxMessageBytes ?? d.maxMessageBytes,
      MAX_MESSAGE_BYTES_LIMIT,
    );
    this.#clock = options.clock ?? systemClock;
    this.#ownsAdapter = options.adapter === undefined;
    this.#adapter = options.adapter ?? memoryQueueAdapter();
    this.#serializer = options.serializer ?? jsonSerializer;
    this.#events = new TypedEmitter(options.logger);
    this.#maxDeliveries = countOption('maxDeliveries', options.maxDeliveries ?? d.maxDeliveries, 1000);
    this.#prefetch = countOption('prefetch', options.prefetch ?? d.prefetch, 65_535);
    this.#retryBaseMs = durationOption('retryBaseMs', options.retryBaseMs ?? d.retryBaseMs, 0);
    this.#retryMaxMs = durationOption('retryMaxMs', options.retryMaxMs ?? d.retryMaxMs, 0);
    if (this.#retryMaxMs < this.#retryBaseMs) {
      throw new InvalidOptionsError('retryMaxMs must be >= retryBaseMs', { option: 'retryMaxMs' });
    }
    this.#closeTimeoutMs = durationOption('closeTimeoutMs', options.closeTimeoutMs ?? d.closeTimeoutMs, 0);
    const suffix = options.deadLetterSuffix ?? d.deadLetterSuffix;
    if (
      typeof suffix !== 'string' ||
      suffix.length === 0 ||
      suffix.length > 50 ||
      hasControlCharacter(suffix) ||
      !isWellFormed(suffix)
    ) {
      throw new InvalidOptionsError(
        'deadLetterSuffix must be a string of 1 to 50 characters, no control characters or lone surrogates',
        {
          option: 'deadLetterSuffix',
        },
      );
    }
    this.#deadLetterSuffix = suffix;
    const otel = Telemetry.create(options);
    this.#telemetry =
      otel === undefined
        ? undefined
        : new QueueTelemetry(
            otel,
            messagingSystemOf(this.#adapter),
            options.consumerTrace ?? d.consumerTrace,
          );
    this.#connectionWatch = this.#watchConnection();
    const logger = options.logger;
    if (logger !== undefined) {
      this.#events.on('dead-letter', (e) =>
        logger.warn?.('message dead-lettered', {
          topic: e.topic,
          group: e.group,
          id: e.id,
          reason: e.reason,
          deliveryCount: e.deliveryCount,
        }),
      );
      this.#events.on('error', (e) =>
        logger.error?.(
          e.id === undefined
            ? 'queue consumer cannot read its topic; retrying'
            : 'queue back end failed to settle a message',
          {
            topic: e.topic,
            group: e.group,
            id: e.id,
            error: String(e.error),
          },
        ),
      );
    }
  }

  /**
   * The state of the back end's connection, read without sending anything
   * (`connected`, `disconnected` while the adapter reconnects, `idle`
   * before a lazy adapter was used, `connecting`, `closed`); `unknown` for
   * an adapter that does not report it. A `connection` event tells each
   * change. What a lifecycle's `/ready` reads.
   *
   * @example
   * ```ts
   * if (queue.connectionState === 'disconnected') log.warn('queue back end unreachable');
   * ```
   */
  get connectionState(): QueueConnectionState | 'unknown' {
    if (this.#life.closed) return 'closed';
    const state = (this.#adapter as { connectionState?: unknown }).connectionState;
    return typeof state === 'string' ? (state as QueueConnectionState) : 'unknown';
  }

  #watchConnection(): Subscription | undefined {
    const adapter = this.#adapter;
    if (typeof adapter.watchConnection !== 'function') return undefined;
    let previous = this.connectionState;
    const subscription = adapter.watchConnection((state) => {
      if (state === previous || this.#life.closed) return;
      const event = { state, previous };
      previous = state;
      this.#events.emit('connection', event);
    });
    // An adapter of the old contract may return nothing to unsubscribe with.
    return typeof subscription?.unsubscribe === 'function' ? subscription : undefined;
  }

  /**
   * Subscribes to an event (`retry`, `dead-letter`, `error`, `connection`); returns a
   * function that unsubscribes.
   *
   * @example
   * ```ts
   * queue.on('dead-letter', (e) => metrics.deadLetters.inc({ topic: e.topic }));
   * ```
   */
  on<K extends keyof MessageQueueEvents>(
    event: K,
    listener: (payload: MessageQueueEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#events.on(event, listener);
  }

  /**
   * Removes a listener added with {@link MessageQueue.on}.
   *
   * @example
   * ```ts
   * const onDead = (e: DeadLetterEvent) => alert(e.id);
   * queue.on('dead-letter', onDead);
   * queue.off('dead-letter', onDead);
   * ```
   */
  off<K extends keyof MessageQueueEvents>(
    event: K,
    listener: (payload: MessageQueueEvents[K]) => void,
  ): void {
    checkListener(event, listener);
    this.#events.off(event, listener);
  }

  /**
   * Serializes and publishes a message. Resolves with its id once the back
   * end has stored it (RabbitMQ: the publisher confirm arrived).
   *
   * @example
   * ```ts
   * const id = await queue.publish('order.created', { orderId: 42 }, { headers: { tenant: 'acme' } });
   * ```
   */
  async publish<T>(topic: string, message: T, options: PublishOptions = {}): Promise<string> {
    this.#life.assertOpen();
    keyArgument('topic', topic, MAX_TOPIC_LENGTH);
    checkPublishOptions(options);
    const id =
      options.messageId === undefined
        ? newMessageId()
        : keyArgument('messageId', options.messageId, MAX_MESSAGE_ID_LENGTH);
    const headers = publishHeaders(options.headers);
    const persistent = options.persistent ?? true;
    if (typeof persistent !== 'boolean') {
      throw new InvalidArgumentError('persistent must be a boolean', { argument: 'persistent' });
    }
    if (options.signal !== undefined && !isAbortSignal(options.signal)) {
      throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
    }
    const body = this.#serializer.serialize(message);
    if (typeof body !== 'string') {
      throw new InvalidOptionsError('the serializer returned something other than a string', {
        option: 'serializer',
      });
    }
    if (!isWellFormed(body)) {
      // UTF-8 has no encoding for a lone surrogate: the back end would store U+FFFD.
      throw new SerializationError(
        'the serializer returned text with a lone surrogate: it would arrive as U+FFFD, not as published',
      );
    }
    // The trace context goes in the headers (and so counts toward the size cap).
    const telemetry = this.#telemetry;
    const trace = telemetry?.startPublish(topic, id, headers);
    try {
      checkMessageSize(topic, body, headers, this.#maxMessageBytes);
      // What the consumer reads is what was published, or nothing is sent.
      const serializer = this.#serializer;
      assertWritesFaithfully(message, serializer, 'publish', () => serializer.deserialize(body));
      await this.#adapter.publish(
        topic,
        { id, body, headers, persistent, timestamp: this.#clock.now() },
        { signal: options.signal },
      );
    } catch (err) {
      if (trace !== undefined) telemetry!.endPublish(trace, topic, err);
      throw err;
    }
    if (trace !== undefined) telemetry!.endPublish(trace, topic);
    return id;
  }

  /**
   * Starts a consumer of `topic`. The handler's success acknowledges the
   * message; a throw retries it with backoff; after `maxDeliveries` it goes
   * to the dead letters with the error recorded.
   *
   * @example
   * ```ts
   * const consumer = await queue.consume<Order>('order.created', (order) => ship(order), {
   *   group: 'shipping', prefetch: 5, maxDeliveries: 3,
   * });
   * await consumer.close();
   * ```
   */
  async consume<T = unknown>(
    topic: string,
    handler: MessageHandler<T>,
    options: ConsumeOptions = {},
  ): Promise<MessageConsumer> {
    this.#life.assertOpen();
    keyArgument('topic', topic, MAX_TOPIC_LENGTH);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('handler must be a function', { argument: 'handler' });
    }
    checkConsumeOptions(options);
    const group =
      options.group === undefined ? 'default' : keyArgument('group', options.group, MAX_GROUP_LENGTH);
    const deadLetterTopic =
      options.deadLetter === false
        ? undefined
        : options.deadLetter === undefined
          ? keyArgument('dead-letter topic', topic + this.#deadLetterSuffix, MAX_TOPIC_LENGTH)
          : keyArgument('deadLetter', options.deadLetter, MAX_TOPIC_LENGTH);
    if (deadLetterTopic === topic) {
      throw new InvalidArgumentError('deadLetter must differ from the topic', { argument: 'deadLetter' });
    }
    const prefetch = countArgument('prefetch', options.prefetch ?? this.#prefetch, 65_535);
    const maxDeliveries = countArgument('maxDeliveries', options.maxDeliveries ?? this.#maxDeliveries, 1000);
    const serializer = this.#serializer;
    if (options.dedupe !== undefined) handler = dedupeHandler(handler, options.dedupe, { topic, group });
    return this.#start(topic, group, prefetch, {
      topic,
      group,
      maxDeliveries,
      deadLetterTopic,
      maxMessageBytes: this.#maxMessageBytes,
      readMalformed: false,
      decode: (d: QueueDelivery) => {
        return serializer.deserialize(d.body);
      },
      handle: (value: unknown, d: QueueDelivery) =>
        handler(value as T, {
          id: d.id,
          topic,
          group,
          headers: d.headers,
          deliveryCount: d.deliveryCount,
          publishedAt: d.publishedAt,
        }),
    });
  }

  /**
   * Consumes the dead letters of `topic` (its default dead-letter topic, or
   * the one given): each arrives with its raw body, the reason and the last
   * error. Resolving removes it; throwing leaves it for a later attempt.
   *
   * @example
   * ```ts
   * await queue.consumeDeadLetters('order.created', (dead) => {
   *   log.error('gave up on order message', { id: dead.id, error: dead.error.message });
   * });
   * ```
   */
  async consumeDeadLetters(
    topic: string,
    handler: (deadLetter: DeadLetter) => unknown,
    options: { deadLetter?: string; prefetch?: number } = {},
  ): Promise<MessageConsumer> {
    this.#life.assertOpen();
    keyArgument('topic', topic, MAX_TOPIC_LENGTH);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('handler must be a function', { argument: 'handler' });
    }
    checkDeadLetterOptions(options);
    const source =
      options.deadLetter === undefined
        ? keyArgument('dead-letter topic', topic + this.#deadLetterSuffix, MAX_TOPIC_LENGTH)
        : keyArgument('deadLetter', options.deadLetter, MAX_TOPIC_LENGTH);
    const prefetch = countArgument('prefetch', options.prefetch ?? this.#prefetch, 65_535);
    const H = QUEUE_HEADERS;
    return this.#start(source, 'default', prefetch, {
      topic: source,
      group: 'default',
      maxDeliveries: Number.MAX_SAFE_INTEGER,
      deadLetterTopic: undefined,
      // Dead letters are delivered whatever they hold: nothing there is dropped.
      maxMessageBytes: undefined,
      readMalformed: true,
      decode: (d: QueueDelivery): DeadLetter => {
        const reason = d.headers[H.reason];
        // A record in the dead-letter topic that no scaleout consumer put
        // there (written by another program, or rejected by the broker).
        const foreign = reason === undefined && d.malformed !== undefined;
        return {
          id: d.id,
          topic: d.headers[H.topic] ?? topic,
          group: d.headers[H.group] ?? 'default',
          reason: reason === 'handler-error' || reason === 'unparseable' ? reason : 'unknown',
          error: foreign
            ? { name: 'CorruptDataError', message: `foreign record: ${d.malformed}` }
            : { name: d.headers[H.errorName] ?? 'Error', message: d.headers[H.error] ?? '' },
          deliveries: Number(d.headers[H.deliveries] ?? 0) || 0,
          deadAt: Number(d.headers[H.deadAt] ?? 0) || 0,
          body: d.body,
          headers: d.headers,
        };
      },
      handle: (value: unknown) => handler(value as DeadLetter),
    });
  }

  async #start(
    topic: string,
    group: string,
    prefetch: number,
    policy: {
      topic: string;
      group: string;
      maxDeliveries: number;
      deadLetterTopic: string | undefined;
      maxMessageBytes: number | undefined;
      readMalformed: boolean;
      decode(d: QueueDelivery): unknown;
      handle(value: unknown, d: QueueDelivery): unknown;
    },
  ): Promise<MessageConsumer> {
    const consumer = new MessageConsumer({
      ...policy,
      backoff: fullJitterBackoff({ baseMs: this.#retryBaseMs, maxMs: this.#retryMaxMs }),
      closeTimeoutMs: this.#closeTimeoutMs,
      clock: this.#clock,
      events: this.#events,
      telemetry: this.#telemetry,
    });
    const subscription = await this.#adapter.consume(topic, consumer.onDelivery, {
      group,
      prefetch,
      deadLetterTopic: policy.deadLetterTopic,
      onError: consumer.onError,
    });
    consumer.attach(subscription);
    if (this.#life.closed) {
      // Closed while the adapter was starting it: an adapter shared with
      // other queues stays open, so this consumer must stop by itself.
      await consumer.close();
      throw this.#life.closedError();
    }
    this.#consumers.add(consumer);
    return consumer;
  }

  /**
   * Closes every consumer of this queue (draining handlers in flight),
   * then the adapter if this queue created it (the default memory adapter).
   * An adapter you passed in stays open: other queues may share it, and it
   * is yours to close. Idempotent: every call gets the same promise.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => queue.close());
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      await Promise.all([...this.#consumers].map((c) => c.close()));
      this.#consumers.clear();
      await this.#connectionWatch?.unsubscribe();
      if (this.#ownsAdapter) await this.#adapter.close();
      this.#events.clear();
    });
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
