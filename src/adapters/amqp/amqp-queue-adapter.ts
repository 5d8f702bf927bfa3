import type { Options } from 'amqplib';
import type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueConnectionState,
  QueueDelivery,
  QueueOutgoingMessage,
} from '../../contracts/queue.js';
import { ClosedError } from '../../errors.js';
import { closeSignal, waitOrAbort } from '../../internal/abort.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import type { Logger, Subscription } from '../../types.js';
import { CloseSteps, finishedBy } from './amqp-close.js';
import { AmqpConnection } from './amqp-connection.js';
import { AmqpConsumers } from './amqp-consumer.js';
import { checkOutgoing, checkQueueName, PUBLISHED_AT, publishedAtField } from './amqp-message.js';
import { AmqpPublisher } from './amqp-publisher.js';
import {
  type AmqpQueueAdapterCloseOptions,
  type AmqpQueueAdapterOptions,
  checkCloseOptions,
  resolveAmqpOptions,
} from './amqp-queue-adapter-options.js';
import type { QueueType } from './amqp-queue-type.js';
import { AmqpTopology } from './amqp-topology.js';

/*
 * The adapter is a facade over its parts, one concept per file:
 * - amqp-connection.ts: dialling, failover and the confirm channel (its
 *   state machine is documented there);
 * - amqp-topology.ts: exchange and queue names, declarations;
 * - amqp-publisher.ts: publish with confirms, the replay buffer, republish;
 * - amqp-consumer.ts: consumer channels, restarts, deliveries;
 * - amqp-delivery.ts: one delivery's ack, retry copy and dead letter;
 * - amqp-confirm.ts: what one confirm means.
 */

/**
 * RabbitMQ {@link QueueAdapter} on amqplib.
 *
 * - Durable queues (quorum by default, or classic: `queueType`), persistent
 *   messages, publisher confirms: `publish` resolves when the broker has the
 *   message (on a quorum queue: a majority of its members).
 * - One URL or the URLs of a cluster's nodes: on a lost connection it dials
 *   the next node (see amqp-connection.ts for the states, amqp-failover.ts
 *   for the order).
 * - Per-consumer channel with `prefetch`; a dead-letter exchange
 *   (`<prefix>scaleout.dead-letter`) on every queue, bound to the consumer's
 *   dead-letter topic.
 * - Reconnects by itself (capped full-jitter backoff), re-declares topology
 *   and resumes consumers; never acknowledges a delivery tag of a channel
 *   that died, nor copies its message for a retry or a dead letter (the
 *   broker redelivers that message).
 * - A negative confirm is answered with a new channel and the message sent
 *   again, until `publishTimeoutMs` (see amqp-confirm.ts).
 * - While disconnected, publishes wait (at most `maxBufferedPublishes` of
 *   them, each up to `publishTimeoutMs`) and are sent after the reconnect; an
 *   unconfirmed publish cut off by a connection loss is sent again, so a
 *   message may arrive twice (deduplicate on its id), never zero times once
 *   `publish` resolved.
 * - `close()` stops every consumer it still has cancel-first, like a
 *   consumer's graceful stop: `basic.cancel`, the deliveries handed out
 *   settled on the open channel (up to `closeTimeoutMs`), then the
 *   channels and the connection close; a broker that stops answering
 *   cannot hold it past that deadline (plus 1 s for the close handshake):
 *   the socket is destroyed and a warning names what did not finish.
 *
 * Topics route through the direct exchange `<prefix>scaleout.topics`; the
 * queue of group `default` is `<prefix><topic>`, of group `g` `<prefix><topic>/g`.
 *
 * @example
 * ```ts
 * import { MessageQueue } from 'scaleout';
 * import { amqpQueueAdapter } from 'scaleout/amqp';
 * const queue = new MessageQueue({
 *   adapter: amqpQueueAdapter({ url: ['amqp://rabbit-1', 'amqp://rabbit-2', 'amqp://rabbit-3'] }),
 * });
 * ```
 */
export class AmqpQueueAdapter implements QueueAdapter {
  /** `messaging.system` of this back end: `rabbitmq`. */
  readonly messagingSystem: string = 'rabbitmq';
  readonly #topology: AmqpTopology;
  readonly #connection: AmqpConnection;
  readonly #publisher: AmqpPublisher;
  readonly #consumers: AmqpConsumers;
  readonly #closeTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #life = new Lifecycle('queue adapter');
  /** Topics whose queue name passed {@link checkQueueName} (bounded: cleared past 1,024). */
  readonly #checkedTopics = new Set<string>();

  constructor(options: AmqpQueueAdapterOptions) {
    const o = resolveAmqpOptions(options);
    const topology = new AmqpTopology({
      prefix: o.prefix,
      queueType: o.queueType,
      deliveryLimit: o.deliveryLimit,
      adoptExisting: o.adoptExisting,
      logger: o.logger,
    });
    const connection = new AmqpConnection({
      dial: o.dial,
      backoff: o.backoff,
      logger: o.logger,
      setUp: (channel) => topology.declareExchanges(channel),
      onLost: () => this.#consumers.lost(),
      onConnected: () => this.#consumers.startAll(),
    });
    const publisher = new AmqpPublisher({
      connection,
      topology,
      backoff: o.backoff,
      maxBuffered: o.maxBuffered,
      publishTimeoutMs: o.publishTimeoutMs,
      logger: o.logger,
      clock: o.clock,
      onQueueGone: (topic) => this.#consumers.queueGone(topic),
    });
    this.#topology = topology;
    this.#closeTimeoutMs = o.closeTimeoutMs;
    this.#logger = o.logger;
    this.#connection = connection;
    this.#publisher = publisher;
    this.#consumers = new AmqpConsumers({
      connection,
      topology,
      publisher,
      backoff: o.backoff,
      logger: o.logger,
    });
  }

  /** Times the adapter re-established a lost connection. */
  get reconnects(): number {
    return this.#connection.reconnects;
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /**
   * The connection's state, read without sending anything: `idle` before
   * anything was published or consumed, `connecting`, `connected`,
   * `disconnected` (lost; reconnecting in the background), `closed`.
   */
  get connectionState(): QueueConnectionState {
    return this.#connection.watchers.state;
  }

  /** Calls `listener` with each new {@link connectionState} (a lost connection, a reconnect, close). */
  watchConnection(listener: (state: QueueConnectionState) => void): Subscription {
    return this.#connection.watchers.watch(listener);
  }

  /**
   * The node connected to right now, redacted (`amqp://***@host:port`);
   * undefined while disconnected.
   */
  get broker(): string | undefined {
    const session = this.#connection.session;
    return session?.alive === true ? session.where : undefined;
  }

  /** The type of the queues this adapter declares. */
  get queueType(): QueueType {
    return this.#topology.queueType;
  }

  /**
   * Publishes `message` (persistent unless asked otherwise) and resolves
   * when the broker confirms it. While disconnected it waits in a bounded
   * buffer (`QueueBufferFullError` past it); after `publishTimeoutMs` it
   * fails with `TimeoutError`.
   */
  async publish(
    topic: string,
    message: QueueOutgoingMessage,
    options: QueueAdapterPublishOptions = {},
  ): Promise<void> {
    checkAdapterPublish(topic, message, options);
    if (!this.#checkedTopics.has(topic)) {
      checkQueueName('topic', this.#topology.queueName(topic, 'default'));
      if (this.#checkedTopics.size >= 1_024) this.#checkedTopics.clear();
      this.#checkedTopics.add(topic);
    }
    checkOutgoing(message);
    if (this.#connection.closed) throw new ClosedError('queue adapter is closed');
    const content = Buffer.from(message.body, 'utf8');
    const props: Options.Publish = {
      persistent: message.persistent,
      mandatory: true,
      messageId: message.id,
      contentType: 'application/json',
      headers: { ...message.headers, [PUBLISHED_AT]: publishedAtField(message.timestamp) },
    };
    await this.#publisher.publish(topic, content, props, options.signal);
  }

  /** Starts a consumer on its own channel; it is resumed after every reconnect. */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<Subscription> {
    checkAdapterConsume(topic, onDelivery, options);
    checkQueueName('topic', this.#topology.queueName(topic, options.group));
    if (options.deadLetterTopic !== undefined) {
      checkQueueName('deadLetterTopic', this.#topology.queueName(options.deadLetterTopic, 'default'));
    }
    if (this.#life.closed) throw new ClosedError('queue adapter is closed');
    return this.#consumers.consume(topic, onDelivery, options);
  }

  /**
   * Stops every consumer it still has the way a consumer's graceful stop
   * does, then closes. First each consumer is cancelled (`basic.cancel`,
   * then its cancel-ok: the broker sends it nothing more); the deliveries
   * it handed out (those that crossed the cancel included) are settled on
   * its open channel: `close()` waits until every one of them was
   * acknowledged, retried or dead-lettered, up to `closeTimeoutMs` (or
   * until `signal` aborts). Then the consumer channels close (what is
   * still unacknowledged goes back to its queue; on a quorum queue with
   * its `x-delivery-count` one higher), the confirms in flight are waited
   * for (bounded) and the connection it created is closed. Publishes still
   * go out while it waits (a handler may publish); `consume()` is refused
   * with `ClosedError` from the call on. During a reconnect a consumer has
   * no channel, so there is nothing to wait for: it closes at once.
   *
   * The deadline bounds every step, the close handshake included: a broker
   * (or network path) that accepts the connection and then stops answering
   * gets what is left of `closeTimeoutMs` / the signal, at least 1 s for
   * channel.close-ok and connection.close-ok. Then the socket of the
   * connection the adapter opened is destroyed (nothing stays open; a given
   * `connection` is the caller's and is left alone), `close()` resolves
   * (never rejects for it) and `logger.warn` gets `AMQP close not answered
   * by its deadline; gave up waiting` with `unfinished` (the steps still
   * waiting, e.g. `['closing the consumer channels']`) and `socket`.
   * Idempotent: every call gets the same promise.
   *
   * @example
   * ```ts
   * const adapter = amqpQueueAdapter({ url: process.env.AMQP_URL!, closeTimeoutMs: 10_000 });
   * process.once('SIGTERM', () => adapter.close({ signal: AbortSignal.timeout(5_000) }));
   * ```
   */
  close(options?: AmqpQueueAdapterCloseOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      signal = closeSignal(options, checkCloseOptions);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#life.close(() => this.#close(signal));
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    // closeTimeoutMs, or the signal if it aborts first: it bounds every step.
    const deadline = waitOrAbort(this.#closeTimeoutMs, signal);
    try {
      await this.#consumers.stopAll(deadline.passed);
      const session = this.#connection.shutDown();
      const steps = new CloseSteps();
      const closing = (async () => {
        await steps.run('closing the consumer channels', this.#consumers.closeAll());
        await this.#connection.closeSession(session, steps);
      })();
      // What is left of the deadline, but at least the close handshake's floor.
      if (await finishedBy(closing, deadline.passed)) return;
      const destroyed = this.#connection.destroySession(session);
      this.#logger?.warn?.('AMQP close not answered by its deadline; gave up waiting', {
        broker: session?.where ?? this.#connection.where,
        unfinished: steps.unfinished,
        socket: destroyed ? 'destroyed' : 'left to the owner of the given connection',
      });
    } finally {
      deadline.cancel();
    }
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a RabbitMQ {@link QueueAdapter} (see {@link AmqpQueueAdapter}).
 *
 * @example
 * ```ts
 * import { MessageQueue } from 'scaleout';
 * import { amqpQueueAdapter } from 'scaleout/amqp';
 * const queue = new MessageQueue({ adapter: amqpQueueAdapter({ url: process.env.AMQP_URL! }) });
 * await queue.publish('order.created', { orderId: 42 }); // resolves on the broker's confirm
 * ```
 */
export function amqpQueueAdapter(options: AmqpQueueAdapterOptions): AmqpQueueAdapter {
  return new AmqpQueueAdapter(options);
}
