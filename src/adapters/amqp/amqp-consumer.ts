import type { Channel } from 'amqplib';
import type {
  QueueAdapterConsumeOptions,
  QueueAdapterSubscription,
  QueueDelivery,
} from '../../contracts/queue.js';
import { ClosedError, ConnectionError, ConsumerCancelledError, QueueMismatchError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { InFlight } from '../../internal/in-flight.js';
import { sleep } from '../../internal/timers.js';
import type { Backoff } from '../../resilience/backoff.js';
import type { Logger } from '../../types.js';
import { CLOSE_HANDSHAKE_FLOOR_MS, finishedBy } from './amqp-close.js';
import { channelAlive, markClosedOnClose } from './amqp-confirm.js';
import type { AmqpConnection, Session } from './amqp-connection.js';
import { type AmqpDeliveryContext, amqpDelivery, hasMessageId, stampMessageId } from './amqp-delivery.js';
import type { AmqpPublisher } from './amqp-publisher.js';
import type { AmqpTopology } from './amqp-topology.js';

/**
 * @internal The consumers of the RabbitMQ adapter. Each consumer has a
 * channel of its own with `prefetch`, declares its queue (and its
 * dead-letter queue) on it, and is started again: on every new connection,
 * after a channel-level failure (with backoff), and when the broker cancels
 * it (its queue was deleted: reported as `ConsumerCancelledError`). A
 * delivery is only ever settled on the channel that delivered it, while
 * that channel is still the consumer's (amqp-delivery.ts): a stale delivery
 * tag is never acknowledged.
 *
 * ## A graceful stop
 *
 * ```
 *  delivering ── stopDelivering() ──▶ cancelled ── unsubscribe() ──▶ released
 *      │  basic.cancel, wait for          │  (the consumer settled what
 *      │  cancel-ok: nothing follows      │   it had) channel closed
 *      └─────────────────────── unsubscribe() ───────────────────────▶ released
 * ```
 *
 * The adapter's own `close()` runs the same two phases for every consumer
 * it still has ({@link AmqpConsumers.stopAll}): `stopDelivering()`, a wait
 * until the deliveries handed out on the consumer's channel are settled
 * (or the channel dies, or the close's deadline passes), then the channels
 * close.
 *
 * - **delivering**: the broker consumer is registered; it is started
 *   again after a lost connection, a channel failure or a cancel by the
 *   broker.
 * - **cancelled** (`stopDelivering()`, what `MessageConsumer`'s stop calls
 *   first): `basic.cancel` tells the broker to send this consumer nothing
 *   more, so what comes next goes to the other consumers of the queue at
 *   once instead of being held here unstarted until the channel closes. The
 *   channel stays open: the handlers in flight finish and their acks go out
 *   on it. Deliveries that crossed the cancel (sent before the broker read
 *   it; 0 or 1 measured with prefetch 10 at 2-45 ms to cancel-ok) are handed
 *   to the consumer and handled, like a Redis Streams read in flight: a
 *   `nack(requeue)` would count as a delivery on a quorum queue
 *   (`x-delivery-count`, toward `x-delivery-limit` and `maxDeliveries`),
 *   for a message that did not fail. Nothing restarts it any more.
 * - **released** (`unsubscribe()`): the channel closes; whatever is still
 *   unacknowledged (a handler past the stop's deadline) goes back to the
 *   queue. Its close-ok is waited for at most `CLOSE_HANDSHAKE_FLOOR_MS`
 *   (amqp-close.ts): a broker that stopped answering leaves the channel to
 *   the adapter's close, which destroys the socket at its deadline.
 */

interface AmqpConsumer {
  topic: string;
  /** With `onError` bound to the async context of the `consume` call. */
  options: QueueAdapterConsumeOptions;
  /** Bound to the async context of the `consume` call, not the connection's. */
  onDelivery: (delivery: QueueDelivery) => void;
  channel: Channel | undefined;
  /** The broker's tag of the consumer on `channel`, once `consume` answered. */
  consumerTag: string | undefined;
  /** The deliveries of `channel` handed out and not settled yet. */
  inFlight: InFlight | undefined;
  /** The start in progress, if any (a stop waits for it, then cancels what it started). */
  starting: Promise<void> | undefined;
  /** False once unsubscribed (or the adapter closed): deliveries are ignored. */
  open: boolean;
  /** False once `stopDelivering()` was called: never started again. */
  delivering: boolean;
  /** `stopDelivering()`'s promise: every caller gets the same one. */
  stopped: Promise<void> | undefined;
  attempt: number;
}

/** Thrown inside a start that a stop overtook: the channel is closed, nothing is reported. */
class StopRequested extends Error {}

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
  /** Set by {@link AmqpConsumers.stopAll}: no consumer is added any more. */
  #closing = false;

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
  ): Promise<QueueAdapterSubscription> {
    const { onError } = options;
    const consumer: AmqpConsumer = {
      topic,
      options:
        onError === undefined
          ? options
          : { ...options, onError: bindToCurrentContext((err: unknown) => onError(err)) },
      onDelivery: bindToCurrentContext(onDelivery),
      channel: undefined,
      consumerTag: undefined,
      inFlight: undefined,
      starting: undefined,
      open: true,
      delivering: true,
      stopped: undefined,
      attempt: 0,
    };
    await this.#connection.ready();
    // The adapter's close() began while this waited for a connection.
    if (this.#closing) throw new ClosedError('queue adapter is closed');
    this.#consumers.add(consumer);
    try {
      await this.#startConsumer(consumer, true);
    } catch (err) {
      // Nobody holds it: it must not be started again by a reconnect.
      consumer.open = false;
      consumer.delivering = false;
      this.#consumers.delete(consumer);
      throw err;
    }
    return {
      stopDelivering: () => {
        consumer.stopped ??= this.#stopDelivering(consumer);
        return consumer.stopped;
      },
      unsubscribe: async () => {
        if (!consumer.open) return;
        consumer.open = false;
        consumer.delivering = false;
        this.#consumers.delete(consumer);
        const channel = consumer.channel;
        consumer.channel = undefined;
        // Closing the channel returns its unacknowledged messages to the queue.
        // Bounded: a broker that stopped answering must not hang a consumer's
        // stop; the channel is then left to the connection (the adapter's close).
        if (channelAlive(channel) && !(await finishedBy(channel!.close(), Promise.resolve()))) {
          this.#logger?.warn?.('AMQP consumer channel close not answered; left to the adapter close', {
            topic,
            waitedMs: CLOSE_HANDSHAKE_FLOOR_MS,
          });
        }
      },
    };
  }

  /**
   * Cancels the broker consumer (`basic.cancel`) and resolves on its
   * cancel-ok: no delivery follows. The channel stays open for the acks of
   * the messages in flight. With no live channel (connection lost, restart
   * pending) there is nothing to cancel: it only stops restarts.
   */
  async #stopDelivering(consumer: AmqpConsumer): Promise<void> {
    consumer.delivering = false;
    // A start in progress either stops before consuming or registers a
    // consumer: wait for it, then cancel that one.
    await consumer.starting;
    const channel = consumer.channel;
    const tag = consumer.consumerTag;
    if (!consumer.open || tag === undefined || !channelAlive(channel)) return;
    try {
      await channel!.cancel(tag);
    } catch (err) {
      // The channel died meanwhile: the broker took its messages back.
      this.#logger?.debug?.('AMQP consumer cancel failed', {
        topic: consumer.topic,
        error: err instanceof Error ? err.message : String(err),
      });
    }
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
      if (c.topic !== topic || !c.delivering || !channelAlive(c.channel)) continue;
      this.#cancelled(c, 'its queue was deleted (a publish found no queue bound)');
      c.channel!.close().catch(() => {}); // its close handler starts it again
    }
  }

  /**
   * The adapter's close, first phase: every consumer stops delivering
   * (`basic.cancel`, cancel-ok), then the deliveries it handed out are
   * waited for until settled, its channel dies, or `deadline` resolves.
   * The channels stay open (see {@link AmqpConsumers.closeAll}).
   */
  async stopAll(deadline: Promise<void>): Promise<void> {
    this.#closing = true;
    const consumers = [...this.#consumers];
    // None is started again from now on (a reconnect, a channel failure).
    for (const c of consumers) c.delivering = false;
    await Promise.race([Promise.all(consumers.map((c) => this.#drain(c))), deadline]);
  }

  /** Cancels `consumer`, then waits for the deliveries of its live channel to be settled. */
  async #drain(consumer: AmqpConsumer): Promise<void> {
    consumer.stopped ??= this.#stopDelivering(consumer);
    await consumer.stopped;
    const channel = consumer.channel;
    const inFlight = consumer.inFlight;
    if (!consumer.open || inFlight === undefined || !channelAlive(channel)) return;
    // A channel that dies meanwhile took its messages back: nothing left to wait for.
    const died = new Promise<void>((resolve) => channel!.once('close', () => resolve()));
    await Promise.race([inFlight.idle(), died]);
  }

  /** Stops every consumer (their unacknowledged messages return to their queues). */
  async closeAll(): Promise<void> {
    this.#closing = true;
    for (const c of this.#consumers) {
      c.open = false;
      c.delivering = false;
    }
    await Promise.all(
      [...this.#consumers].map((c) =>
        channelAlive(c.channel) ? c.channel!.close().catch(() => {}) : undefined,
      ),
    );
    this.#consumers.clear();
  }

  /** Starts `consumer` on a new channel unless it is stopping, has a channel or is starting. */
  #startConsumer(consumer: AmqpConsumer, throwOnError = false): Promise<void> {
    const session = this.#connection.session;
    if (!consumer.delivering || this.#connection.closed || session === undefined || !session.alive) {
      return Promise.resolve();
    }
    if (consumer.channel !== undefined || consumer.starting !== undefined) return Promise.resolve();
    const starting = this.#start(consumer, session, throwOnError).finally(() => {
      consumer.starting = undefined;
    });
    consumer.starting = starting.catch(() => {});
    return starting;
  }

  async #start(consumer: AmqpConsumer, session: Session, throwOnError: boolean): Promise<void> {
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
        if (consumer.delivering && session.alive && !this.#connection.closed) this.#restartLater(consumer);
      });
      const { topic, options } = consumer;
      const queue = await this.#topology.declareQueue(session.model, topic, options.group);
      if (options.deadLetterTopic !== undefined) {
        await this.#topology.declareDeadLetterQueue(session.model, options.deadLetterTopic, queue);
      }
      await ch.prefetch(options.prefetch);
      const ctx = this.#deliveryContext(consumer, ch, queue);
      consumer.inFlight = ctx.inFlight;
      if (!consumer.delivering) throw new StopRequested();
      consumer.consumerTag = undefined;
      const { consumerTag } = await ch.consume(queue, (msg) => {
        if (msg === null) {
          // Cancelled by the broker (queue deleted, its node lost): reported,
          // then started again (declaring the queue anew). During a stop the
          // channel stays for the acks in flight; unsubscribe() closes it.
          if (consumer.channel === ch && consumer.delivering) {
            this.#cancelled(
              consumer,
              'the broker cancelled it (its queue deleted, or the node holding it lost)',
              queue,
            );
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
      if (consumer.channel === ch) consumer.consumerTag = consumerTag;
    } catch (err) {
      if (consumer.channel === channel) consumer.channel = undefined;
      if (channelAlive(channel)) await channel!.close().catch(() => {});
      if (err instanceof StopRequested) return;
      if (throwOnError) {
        if (err instanceof QueueMismatchError) throw err;
        throw new ConnectionError(`cannot start a consumer of "${consumer.topic}"`, { cause: err });
      }
      reportTo(consumer, err);
      this.#restartLater(consumer);
    }
  }

  /** Logs and reports (to the consumer's `onError`) that the broker cancelled `consumer`. */
  #cancelled(
    consumer: AmqpConsumer,
    why: string,
    queue = this.#topology.queueName(consumer.topic, consumer.options.group),
  ): void {
    this.#logger?.warn?.('AMQP consumer cancelled by the broker; consuming again', {
      topic: consumer.topic,
      queue,
    });
    reportTo(
      consumer,
      new ConsumerCancelledError(
        `the consumer of queue "${queue}" stopped receiving: ${why}; consuming it again`,
        { queue },
      ),
    );
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
      inFlight: new InFlight(),
    };
  }
}
