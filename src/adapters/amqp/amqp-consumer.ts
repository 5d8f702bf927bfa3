import type { Channel } from 'amqplib';
import type { QueueAdapterConsumeOptions, QueueDelivery } from '../../contracts/queue.js';
import { ConnectionError, QueueMismatchError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { sleep } from '../../internal/timers.js';
import type { Backoff } from '../../resilience/backoff.js';
import type { Logger, Subscription } from '../../types.js';
import { channelAlive, markClosedOnClose } from './amqp-confirm.js';
import type { AmqpConnection } from './amqp-connection.js';
import { type AmqpDeliveryContext, amqpDelivery, hasMessageId, stampMessageId } from './amqp-delivery.js';
import type { AmqpPublisher } from './amqp-publisher.js';
import type { AmqpTopology } from './amqp-topology.js';

/**
 * @internal The consumers of the RabbitMQ adapter. Each consumer has a
 * channel of its own with `prefetch`, declares its queue (and its
 * dead-letter queue) on it, and is started again: on every new connection,
 * after a channel-level failure (with backoff), and when the broker cancels
 * it (its queue was deleted). A delivery is only ever settled on the channel
 * that delivered it, while that channel is still the consumer's
 * (amqp-delivery.ts): a stale delivery tag is never acknowledged.
 */

interface AmqpConsumer {
  topic: string;
  /** With `onError` bound to the async context of the `consume` call. */
  options: QueueAdapterConsumeOptions;
  /** Bound to the async context of the `consume` call, not the connection's. */
  onDelivery: (delivery: QueueDelivery) => void;
  channel: Channel | undefined;
  starting: boolean;
  open: boolean;
  attempt: number;
}

/** Reports a consumer's failure to its `onError`; a listener's throw is not ours to handle. */
function reportTo(consumer: { options: QueueAdapterConsumeOptions }, err: unknown): void {
  try {
    consumer.options.onError?.(err);
  } catch {
    // ignored: the consumer goes on
  }
}

/** What the consumers need. */
export interface AmqpConsumersOptions {
  connection: AmqpConnection;
  topology: AmqpTopology;
  publisher: AmqpPublisher;
  backoff: Backoff;
  logger: Logger | undefined;
}

/**
 * Every consumer of one adapter.
 *
 * @example
 * ```ts
 * const consumers = new AmqpConsumers({ connection, topology, publisher, backoff, logger });
 * const subscription = await consumers.consume('orders', onDelivery, { group: 'default', prefetch: 10 });
 * ```
 */
export class AmqpConsumers {
  readonly #connection: AmqpConnection;
  readonly #topology: AmqpTopology;
  readonly #publisher: AmqpPublisher;
  readonly #backoff: Backoff;
  readonly #logger: Logger | undefined;
  readonly #consumers = new Set<AmqpConsumer>();

  constructor(options: AmqpConsumersOptions) {
    this.#connection = options.connection;
    this.#topology = options.topology;
    this.#publisher = options.publisher;
    this.#backoff = options.backoff;
    this.#logger = options.logger;
  }

  /** Starts a consumer on its own channel; it is resumed after every reconnect. */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<Subscription> {
    const { onError } = options;
    const consumer: AmqpConsumer = {
      topic,
      options:
        onError === undefined
          ? options
          : { ...options, onError: bindToCurrentContext((err: unknown) => onError(err)) },
      onDelivery: bindToCurrentContext(onDelivery),
      channel: undefined,
      starting: false,
      open: true,
      attempt: 0,
    };
    await this.#connection.ready();
    this.#consumers.add(consumer);
    await this.#startConsumer(consumer, true);
    return {
      unsubscribe: async () => {
        if (!consumer.open) return;
        consumer.open = false;
        this.#consumers.delete(consumer);
        const channel = consumer.channel;
        consumer.channel = undefined;
        // Closing the channel returns its unacknowledged messages to the queue.
        if (channelAlive(channel)) await channel!.close().catch(() => {});
      },
    };
  }

  /** The connection was lost: every consumer's channel went with it. */
  lost(): void {
    for (const c of this.#consumers) c.channel = undefined;
  }

  /** A new connection is up: every consumer starts on it. */
  startAll(): void {
    for (const c of this.#consumers) void this.#startConsumer(c);
  }

  /**
   * The queue of `topic` was deleted: this adapter's consumers of `topic`
   * start again on new channels. RabbitMQ 3.10 does not always cancel the
   * consumers of a deleted quorum queue; one left running would take the
   * messages of the queue declared again under the same name and never see
   * them (they come back only when its channel closes).
   */
  queueGone(topic: string): void {
    for (const c of this.#consumers) {
      if (c.topic !== topic || !channelAlive(c.channel)) continue;
      this.#logger?.info?.('AMQP queue deleted under a consumer; consuming it again', { topic });
      c.channel!.close().catch(() => {}); // its close handler starts it again
    }
  }

  /** Stops every consumer (their unacknowledged messages return to their queues). */
  async closeAll(): Promise<void> {
    for (const c of this.#consumers) c.open = false;
    await Promise.all(
      [...this.#consumers].map((c) =>
        channelAlive(c.channel) ? c.channel!.close().catch(() => {}) : undefined,
      ),
    );
    this.#consumers.clear();
  }

  async #startConsumer(consumer: AmqpConsumer, throwOnError = false): Promise<void> {
    const session = this.#connection.session;
    if (!consumer.open || this.#connection.closed || session === undefined || !session.alive) return;
    if (consumer.channel !== undefined || consumer.starting) return;
    consumer.starting = true;
    let channel: Channel | undefined;
    try {
      channel = await session.model.createChannel();
      markClosedOnClose(channel);
      consumer.channel = channel;
      channel.on('error', (err: Error) => {
        this.#logger?.warn?.('AMQP consumer channel error', { topic: consumer.topic, error: err.message });
      });
      const ch = channel;
      ch.once('close', () => {
        if (consumer.channel === ch) consumer.channel = undefined;
        // A channel-level failure on a live connection: start again after a pause.
        if (consumer.open && session.alive && !this.#connection.closed) this.#restartLater(consumer);
      });
      const { topic, options } = consumer;
      const queue = await this.#topology.declareQueue(session.model, topic, options.group);
      if (options.deadLetterTopic !== undefined) {
        await this.#topology.declareDeadLetterQueue(session.model, options.deadLetterTopic, queue);
      }
      await ch.prefetch(options.prefetch);
      const ctx = this.#deliveryContext(consumer, ch, queue);
      await ch.consume(queue, (msg) => {
        if (msg === null) {
          // Cancelled by the broker (queue deleted): start again.
          if (consumer.channel === ch) {
            consumer.channel = undefined;
            ch.close().catch(() => {});
          }
          return;
        }
        if (!consumer.open) return; // left unacknowledged: requeued when the channel closes
        consumer.attempt = 0;
        // Hands it to the consumer (stamping an id first on a message that has none).
        if (hasMessageId(msg)) consumer.onDelivery(amqpDelivery(ctx, msg));
        else void stampMessageId(ctx, msg);
      });
    } catch (err) {
      if (consumer.channel === channel) consumer.channel = undefined;
      if (channelAlive(channel)) await channel!.close().catch(() => {});
      if (throwOnError) {
        if (err instanceof QueueMismatchError) throw err;
        throw new ConnectionError(`cannot start a consumer of "${consumer.topic}"`, { cause: err });
      }
      reportTo(consumer, err);
      this.#restartLater(consumer);
    } finally {
      consumer.starting = false;
    }
  }

  #restartLater(consumer: AmqpConsumer): void {
    const delay = this.#backoff(consumer.attempt++);
    sleep(delay, { signal: this.#connection.stopSignal, unref: true }).then(
      () => {
        if (this.#connection.connected) void this.#startConsumer(consumer);
      },
      () => {},
    );
  }

  /** What the deliveries of `channel` need: made once per consumer channel, not per message. */
  #deliveryContext(consumer: AmqpConsumer, channel: Channel, queue: string): AmqpDeliveryContext {
    return {
      topic: consumer.topic,
      queue,
      deadLetterTopic: consumer.options.deadLetterTopic,
      deadLetterExchange: this.#topology.deadLetterExchange,
      channel,
      live: () => channelAlive(channel) && consumer.channel === channel,
      republish: (msg, exchange, routingKey, props, repair) =>
        this.#publisher.republish(msg, exchange, routingKey, props, repair),
      redeclare: (model) => this.#topology.declareQueue(model, consumer.topic, consumer.options.group),
      redeclareDeadLetter: (model, deadTopic) =>
        this.#topology.declareDeadLetterQueue(model, deadTopic, queue),
      report: (err) => reportTo(consumer, err),
    };
  }
}
