import type { Subscription } from '../types.js';

/**
 * The contract between {@link MessageQueue} (policy: serialization, retries
 * with backoff, the delivery limit, dead-lettering decisions) and a queue
 * back end (I/O only: store, deliver, acknowledge, move).
 *
 * @module
 */

/**
 * Header names scaleout writes on messages. Adapters carry every header
 * through unchanged, including these.
 *
 * @example
 * ```ts
 * const previousFailures = Number(delivery.headers[QUEUE_HEADERS.failures] ?? 0);
 * ```
 */
export const QUEUE_HEADERS = {
  /** Failed attempts before this copy was published (set by `retry()`). */
  failures: 'x-scaleout-failures',
  /** Dead letters: the topic the message was consumed from. */
  topic: 'x-scaleout-topic',
  /** Dead letters: the consumer group that gave up on it. */
  group: 'x-scaleout-group',
  /** Dead letters: why it was dead-lettered (`handler-error` or `unparseable`). */
  reason: 'x-scaleout-reason',
  /** Dead letters: the name of the last error. */
  errorName: 'x-scaleout-error-name',
  /** Dead letters: the message of the last error. */
  error: 'x-scaleout-error',
  /** Dead letters: deliveries attempted. */
  deliveries: 'x-scaleout-deliveries',
  /** Dead letters: when it was dead-lettered, ms since the epoch. */
  deadAt: 'x-scaleout-dead-at',
  /**
   * Dead letters of a foreign record that was not in scaleout's shape: how
   * the body holds the original (`redis-stream-fields`: the JSON array of
   * the stream entry's fields and values, verbatim and in order;
   * `redis-stream-fields-base64`: the same, each name and value in base64,
   * when one is not UTF-8 text; `base64`: a body that is not UTF-8 text,
   * its bytes in base64).
   */
  bodyFormat: 'x-scaleout-body-format',
} as const;

/**
 * Highest failure count a `x-scaleout-failures` header may carry (the
 * highest `maxDeliveries`). Anyone who can publish to a queue can set the
 * header; a value that is not a decimal integer in `[0, MAX_FAILURES_HEADER]`
 * is ignored (counted as 0), so a forged one can neither make a message
 * immortal nor push it past the limit by more than this.
 */
export const MAX_FAILURES_HEADER = 1000;

/**
 * The failure count a `x-scaleout-failures` header value stands for: a
 * decimal integer in `[0, MAX_FAILURES_HEADER]` without sign, spaces or
 * leading zeros; anything else (a foreign or forged value) counts as 0.
 *
 * @example
 * ```ts
 * const failures = failuresFromHeader(headers[QUEUE_HEADERS.failures]); // '3' -> 3, '-1' -> 0, '1e9' -> 0
 * ```
 */
export function failuresFromHeader(value: string | undefined): number {
  if (value === undefined || value.length > 4 || !/^(0|[1-9][0-9]*)$/.test(value)) return 0;
  const n = Number(value);
  return n <= MAX_FAILURES_HEADER ? n : 0;
}

/**
 * A serialized message on its way to the back end.
 *
 * @example
 * ```ts
 * await adapter.publish('order.created', {
 *   id: '0190b5c2-...', body: '{"orderId":1}', headers: {}, persistent: true, timestamp: Date.now(),
 * });
 * ```
 */
export interface QueueOutgoingMessage {
  /** Unique message id (the same on every redelivery and retry copy). */
  id: string;
  /** The serialized payload. */
  body: string;
  /** String headers carried with the message. */
  headers: Record<string, string>;
  /** Whether the message must survive a broker restart. */
  persistent: boolean;
  /** Publication time, ms since the epoch. */
  timestamp: number;
}

/**
 * Per-call options of {@link QueueAdapter.publish}.
 *
 * @example
 * ```ts
 * await adapter.publish(topic, message, { signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface QueueAdapterPublishOptions {
  /** Gives up waiting (for a connection or a confirm) when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * One delivery of one message to one consumer. Exactly one of `ack`,
 * `retry` or `deadLetter` should be called; until then the message is held
 * by this consumer. If the consumer dies first, the back end redelivers it.
 *
 * @example
 * ```ts
 * await adapter.consume('order.created', async (delivery) => {
 *   try { await handle(delivery.body); await delivery.ack(); }
 *   catch { await delivery.retry(); }
 * }, { group: 'default', prefetch: 10, deadLetterTopic: 'order.created.dead' });
 * ```
 */
export interface QueueDelivery {
  /** The message id given at publication. */
  readonly id: string;
  /** The topic it was consumed from. */
  readonly topic: string;
  /** The serialized payload, as published (it may not parse). */
  readonly body: string;
  /** Headers as published (plus scaleout's own). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Which delivery this is, 1 for the first. Counts failed attempts
   * (`retry()`) and redeliveries after a consumer died holding the message.
   */
  readonly deliveryCount: number;
  /** Publication time, ms since the epoch, when the back end kept it. */
  readonly publishedAt: number | undefined;
  /**
   * Set when the back end could not read this message as one scaleout
   * writes (a foreign record: a stream entry without its body field or with
   * unexpected fields, a body that is not UTF-8): why, in a few words. The
   * consumer then dead-letters it with this reason without calling the
   * handler, and `body` holds the original record (see
   * {@link QUEUE_HEADERS}.bodyFormat). Undefined for a readable message.
   */
  readonly malformed?: string | undefined;
  /** The message is done: remove it. */
  ack(): Promise<void>;
  /**
   * The attempt failed: put a copy back at the end of this consumer group's
   * queue with one more failure counted, then remove this one.
   */
  retry(): Promise<void>;
  /**
   * Give up: store the message, with `headers` added, in the consumer's
   * dead-letter topic, then remove it. Without a dead-letter topic this
   * removes it.
   */
  deadLetter(headers: Record<string, string>): Promise<void>;
}

/**
 * Options of {@link QueueAdapter.consume}, already validated and defaulted
 * by the primitive.
 *
 * @example
 * ```ts
 * const options: QueueAdapterConsumeOptions = { group: 'billing', prefetch: 5, deadLetterTopic: undefined };
 * ```
 */
export interface QueueAdapterConsumeOptions {
  /**
   * Consumer group: every group receives every message of the topic once;
   * consumers of one group share its messages. The group `default` exists
   * as soon as anything is published, so it keeps messages published before
   * its first consumer; other groups receive messages published after they
   * were first consumed.
   */
  group: string;
  /** Most deliveries held (unacknowledged) by this consumer at once. */
  prefetch: number;
  /** Topic that receives dead letters; `undefined` drops them. */
  deadLetterTopic: string | undefined;
  /**
   * Called when the consumer cannot read its topic (the back end fails, or
   * its key holds foreign data: a `CorruptDataError`); the consumer keeps
   * trying with backoff.
   */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * A running consumer of an adapter: the one {@link Subscription} shape.
 * `unsubscribe()` stops deliveries; messages delivered and not yet
 * acknowledged go back to the queue (at once, or after the back end's
 * reclaim delay).
 *
 * @deprecated Use {@link Subscription}: it is the same type. (Before
 * issue 17 it had `close()` instead of `unsubscribe()`.)
 *
 * @example
 * ```ts
 * const sub: QueueSubscription = await adapter.consume(topic, onDelivery, options);
 * await sub.unsubscribe();
 * ```
 */
export type QueueSubscription = Subscription;

/**
 * What an adapter's `consume()` resolves to: a {@link Subscription},
 * optionally with `stopDelivering()`, which a consumer's graceful stop calls
 * before it waits for its handlers, so that no message is left read but not
 * started when it stops.
 *
 * @example
 * ```ts
 * const sub: QueueAdapterSubscription = await adapter.consume(topic, onDelivery, options);
 * await sub.stopDelivering?.(); // no delivery follows; settle the ones made
 * await sub.unsubscribe();
 * ```
 */
export interface QueueAdapterSubscription extends Subscription {
  /**
   * Optional. Takes no new message from the back end and resolves once no
   * delivery can follow. Deliveries made before it resolves (those of a
   * read that was in flight included) stay valid: the consumer handles and
   * settles them as usual, then calls `unsubscribe()`. Without it, a
   * stopping consumer leaves what arrives while it drains unsettled, and
   * `unsubscribe()` hands it back to the back end.
   */
  stopDelivering?(): Promise<void>;
}

/**
 * The state of a queue back end's connection, as an adapter reports it
 * (see {@link QueueAdapter.connectionState}):
 *
 * - `idle`: nothing opened yet (nothing published or consumed, or a lazy
 *   client); nothing is known to be wrong;
 * - `connecting`: the first connection is being opened;
 * - `connected`: the connection is up;
 * - `disconnected`: it was up and was lost; the adapter is reconnecting;
 * - `closed`: the adapter was closed (final).
 *
 * @example
 * ```ts
 * const up = (state: QueueConnectionState) => state === 'connected' || state === 'idle';
 * ```
 */
export type QueueConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * A message queue back end: memory, RabbitMQ (`scaleout/amqp`) or Redis
 * Streams (`scaleout/redis`). Implement it to bring another broker; check it
 * with `queueAdapterConformance` from `scaleout/testing`.
 *
 * @example
 * ```ts
 * const queue = new MessageQueue({ adapter: memoryQueueAdapter() });
 * ```
 */
export interface QueueAdapter {
  /**
   * The `messaging.system` of this back end in OpenTelemetry spans and
   * metrics: `rabbitmq` (`scaleout/amqp`), `redis` (Redis Streams,
   * `scaleout/redis`), `scaleout_memory` (the in-process adapter). An
   * adapter that wraps another should forward the wrapped one's. Without
   * it, {@link MessageQueue} reports `scaleout`. At most 64 characters.
   */
  readonly messagingSystem?: string;
  /** Stores a message durably (as far as the back end allows); resolves when stored. */
  publish(topic: string, message: QueueOutgoingMessage, options?: QueueAdapterPublishOptions): Promise<void>;
  /**
   * Starts delivering messages of `topic` to `onDelivery`. `onDelivery`
   * and `options.onError` run in the async context (AsyncLocalStorage
   * stores, trace) of this call, not the publisher's nor that of the call
   * that opened a connection.
   */
  consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<QueueAdapterSubscription>;
  /**
   * The state of the connection to the back end, read without sending
   * anything. Optional: an adapter without it is reported `unknown` by
   * `MessageQueue.connectionState`. Memory, RabbitMQ and Redis
   * Streams adapters have it.
   */
  readonly connectionState?: QueueConnectionState;
  /**
   * Calls `listener` with the new state each time
   * {@link QueueAdapter.connectionState} changes (a lost connection, a
   * reconnect, close) until unsubscribed. Optional, with
   * `connectionState`.
   */
  watchConnection?(listener: (state: QueueConnectionState) => void): Subscription;
  /**
   * Stops every consumer and releases connections the adapter created.
   * Required. A {@link MessageQueue} calls it only on an adapter it created
   * itself: an adapter you pass in is yours to close.
   */
  close(): Promise<void>;
}
