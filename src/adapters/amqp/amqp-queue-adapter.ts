import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueDelivery,
  QueueOutgoingMessage,
  QueueSubscription,
} from '../../contracts/queue.js';
import {
  ClosedError,
  ConnectionError,
  PublishRejectedError,
  QueueBufferFullError,
  QueueMismatchError,
  TimeoutError,
} from '../../errors.js';
import { raceAbort, withTimeout } from '../../internal/abort.js';
import { bindToCurrentContext, captureContext } from '../../internal/async-context.js';
import { sleep } from '../../internal/timers.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import type { Backoff } from '../../resilience/backoff.js';
import type { Logger } from '../../types.js';
import {
  channelAlive,
  confirmPublish,
  isFinal,
  markClosedOnClose,
  trackReturns,
  UnroutableError,
} from './amqp-confirm.js';
import { type AmqpDeliveryContext, amqpDelivery, hasMessageId, stampMessageId } from './amqp-delivery.js';
import { dialNode } from './amqp-failover.js';
import { checkOutgoing, checkQueueName, PUBLISHED_AT } from './amqp-message.js';
import {
  type AmqpDial,
  type AmqpQueueAdapterOptions,
  resolveAmqpOptions,
} from './amqp-queue-adapter-options.js';
import { declareQueue } from './amqp-queue-declaration.js';
import { type QueueType, queueOptions, typeMismatchHint } from './amqp-queue-type.js';

interface Session {
  model: ChannelModel;
  /** The node (redacted URL) or the given connection. */
  where: string;
  pub: ConfirmChannel;
  /** Topology declared on this connection (queue/binding keys). */
  declared: Set<string>;
  alive: boolean;
}

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

/** A node could not be dialled: a ConnectionError that names it (redacted). */
class DialError extends ConnectionError {
  readonly where: string;
  constructor(message: string, where: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ConnectionError';
    this.where = where;
  }
}

/**
 * RabbitMQ {@link QueueAdapter} on amqplib.
 *
 * - Durable queues (quorum by default, or classic: `queueType`), persistent
 *   messages, publisher confirms: `publish` resolves when the broker has the
 *   message (on a quorum queue: a majority of its members).
 * - One URL or the URLs of a cluster's nodes: on a lost connection it dials
 *   the next node (see amqp-failover.ts).
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
  readonly #dial: AmqpDial;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #prefix: string;
  readonly #backoff: Backoff;
  readonly #maxBuffered: number;
  readonly #publishTimeoutMs: number;
  readonly #adoptExisting: boolean;
  readonly #queueType: QueueType;
  readonly #deliveryLimit: number | false;
  readonly #logger: Logger | undefined;
  readonly #consumers = new Set<AmqpConsumer>();
  readonly #stop = new AbortController();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  /**
   * The context the adapter was made in. The connection (its socket events,
   * channel events and reconnects) is opened in it, not in that of the
   * publish or consume that happened to need it first.
   */
  readonly #background = captureContext();
  #waiting = 0;
  #closed = false;
  #reconnects = 0;
  #usedGivenConnection = false;

  constructor(options: AmqpQueueAdapterOptions) {
    const o = resolveAmqpOptions(options);
    this.#dial = o.dial;
    this.#owned = o.dial.kind !== 'given';
    this.#where =
      o.dial.kind === 'nodes'
        ? o.dial.nodes.where
        : o.dial.kind === 'factory'
          ? 'the given connection factory'
          : 'the given connection';
    this.#prefix = o.prefix;
    this.#backoff = o.backoff;
    this.#maxBuffered = o.maxBuffered;
    this.#publishTimeoutMs = o.publishTimeoutMs;
    this.#adoptExisting = o.adoptExisting;
    this.#queueType = o.queueType;
    this.#deliveryLimit = o.deliveryLimit;
    this.#logger = o.logger;
  }

  /** Times the adapter re-established a lost connection. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.#session?.alive === true;
  }

  /**
   * The node connected to right now, redacted (`amqp://***@host:port`);
   * undefined while disconnected.
   */
  get broker(): string | undefined {
    return this.#session?.alive === true ? this.#session.where : undefined;
  }

  /** The type of the queues this adapter declares. */
  get queueType(): QueueType {
    return this.#queueType;
  }

  get #topicsExchange(): string {
    return `${this.#prefix}scaleout.topics`;
  }

  get #deadLetterExchange(): string {
    return `${this.#prefix}scaleout.dead-letter`;
  }

  #queueName(topic: string, group: string): string {
    return group === 'default' ? `${this.#prefix}${topic}` : `${this.#prefix}${topic}/${group}`;
  }

  // ---- connection ----------------------------------------------------------

  /** The live session, connecting (with backoff, until closed) when there is none. */
  #ready(): Promise<Session> {
    if (this.#closed) return Promise.reject(new ClosedError('queue adapter is closed'));
    if (this.#session?.alive) return Promise.resolve(this.#session);
    this.#connecting ??= this.#background(() =>
      this.#connectLoop().finally(() => {
        this.#connecting = undefined;
      }),
    );
    return this.#connecting;
  }

  async #connectLoop(): Promise<Session> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClosedError('queue adapter is closed');
      // Several nodes: the next one at once, a backoff between rounds (amqp-failover.ts).
      const delay =
        this.#dial.kind === 'nodes'
          ? this.#dial.nodes.delayBefore(attempt, this.#backoff)
          : attempt === 0
            ? 0
            : this.#backoff(attempt - 1);
      if (delay > 0) await sleep(delay, { signal: this.#stop.signal, unref: true }).catch(() => {});
      if (this.#closed) throw new ClosedError('queue adapter is closed');
      try {
        return await this.#connectOnce();
      } catch (err) {
        if (this.#closed) throw new ClosedError('queue adapter is closed');
        if (this.#dial.kind === 'given' && this.#usedGivenConnection) throw err;
        this.#logger?.warn?.('AMQP connect failed; retrying', {
          broker: err instanceof DialError ? err.where : this.#where,
          attempt,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** Opens a connection the way the options say; names the node (redacted). */
  async #open(): Promise<{ model: ChannelModel; where: string }> {
    const dial = this.#dial;
    if (dial.kind === 'nodes') {
      const node = dial.nodes.next();
      try {
        return { model: await dialNode(node, dial.connectTimeoutMs), where: node.where };
      } catch (err) {
        throw new DialError(`cannot connect to RabbitMQ at ${node.where}`, node.where, err);
      }
    }
    if (dial.kind === 'factory') {
      try {
        return { model: await dial.open(), where: this.#where };
      } catch (err) {
        if (err instanceof ConnectionError) throw err;
        throw new ConnectionError(`cannot connect to RabbitMQ at ${this.#where}`, { cause: err });
      }
    }
    if (this.#usedGivenConnection) {
      throw new ConnectionError('the given AMQP connection closed; pass url or a factory to reconnect');
    }
    this.#usedGivenConnection = true;
    return { model: dial.connection, where: this.#where };
  }

  async #connectOnce(): Promise<Session> {
    const hadSession = this.#session !== undefined;
    const { model, where } = await this.#open();
    const session: Session = { model, where, pub: undefined as never, declared: new Set(), alive: true };
    const lost = () => {
      if (!session.alive) return;
      session.alive = false;
      for (const c of this.#consumers) c.channel = undefined;
      if (this.#closed) return;
      this.#logger?.warn?.('AMQP connection lost; reconnecting', { broker: where });
      // Reconnect in the background so consumers resume without a publish.
      this.#ready().catch(() => {});
    };
    model.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP connection error', { broker: where, error: err.message });
    });
    model.on('close', lost);
    try {
      session.pub = await this.#openPublisher(model, session);
      await this.#declareExchanges(session.pub);
    } catch (err) {
      lost();
      await model.close().catch(() => {});
      throw new DialError(`cannot open a channel on ${where}`, where, err);
    }
    if (this.#closed) {
      session.alive = false;
      await model.close().catch(() => {});
      throw new ClosedError('queue adapter is closed');
    }
    this.#session = session;
    if (hadSession) this.#reconnects++;
    this.#logger?.info?.('AMQP connected', { broker: where });
    for (const c of this.#consumers) void this.#startConsumer(c);
    return session;
  }

  async #openPublisher(model: ChannelModel, session: Session): Promise<ConfirmChannel> {
    const pub = await model.createConfirmChannel();
    markClosedOnClose(pub);
    trackReturns(pub);
    pub.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP publish channel error', { error: err.message });
    });
    pub.once('close', () => {
      // A channel-level error, or closed after a nack (not a lost connection): open a new one.
      if (!session.alive || this.#closed || session.pub !== pub) return;
      session.declared.clear();
      this.#openPublisher(model, session).then(
        (next) => {
          session.pub = next;
        },
        () => model.close().catch(() => {}),
      );
      session.pub = undefined as never;
    });
    return pub;
  }

  async #declareExchanges(channel: Channel): Promise<void> {
    await channel.assertExchange(this.#topicsExchange, 'direct', { durable: true });
    await channel.assertExchange(this.#deadLetterExchange, 'direct', { durable: true });
  }

  /**
   * Declares the queue of (topic, group), bound to the topics exchange (and
   * to `extra` bindings), on channels of its own: a queue that exists with
   * other arguments fails with `QueueMismatchError`, or is adopted (see
   * amqp-queue-declaration.ts).
   */
  async #declareQueue(
    model: ChannelModel,
    topic: string,
    group: string,
    extra: ReadonlyArray<{ exchange: string; routingKey: string }> = [],
  ): Promise<string> {
    const name = this.#queueName(topic, group);
    const type = this.#queueType;
    await declareQueue(
      { model, adoptExisting: this.#adoptExisting, logger: this.#logger },
      {
        name,
        options: queueOptions({
          type,
          name,
          deadLetterExchange: this.#deadLetterExchange,
          deliveryLimit: this.#deliveryLimit,
        }),
        bindings: [{ exchange: this.#topicsExchange, routingKey: topic }, ...extra],
        explain: (argument, existing) => typeMismatchHint(type, argument, existing),
      },
    );
    return name;
  }

  /** Declares the dead-letter topic's queue, bound to the dead-letter exchange for `source`. */
  #declareDeadLetterQueue(model: ChannelModel, deadTopic: string, source: string): Promise<string> {
    return this.#declareQueue(model, deadTopic, 'default', [
      { exchange: this.#deadLetterExchange, routingKey: source },
    ]);
  }

  async #publisher(signal: AbortSignal | undefined): Promise<Session> {
    for (;;) {
      const session = await raceAbort(this.#ready(), signal);
      if (session.pub !== undefined && channelAlive(session.pub)) return session;
      await sleep(10, { signal, unref: true });
    }
  }

  // ---- publish -------------------------------------------------------------

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
    checkQueueName('topic', this.#queueName(topic, 'default'));
    checkOutgoing(message);
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    const content = Buffer.from(message.body, 'utf8');
    const props: Options.Publish = {
      persistent: message.persistent,
      mandatory: true,
      messageId: message.id,
      contentType: 'application/json',
      headers: { ...message.headers, [PUBLISHED_AT]: message.timestamp },
    };
    const session = this.#session;
    if (
      session?.alive &&
      session.pub !== undefined &&
      session.declared.has(topic) &&
      channelAlive(session.pub)
    ) {
      // Fast path: connected and the topology is known.
      try {
        await confirmPublish(session.pub, this.#topicsExchange, topic, content, props);
        return;
      } catch (err) {
        if (isFinal(err)) throw err;
        // The channel died under the publish, or the queue was deleted: the
        // slow path re-declares and sends it again.
        if (err instanceof UnroutableError) this.#queueGone(session, topic);
      }
    }
    await this.#publishSlow(topic, content, props, options.signal);
  }

  async #publishSlow(
    topic: string,
    content: Buffer,
    props: Options.Publish,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!this.connected && this.#waiting >= this.#maxBuffered) {
      throw new QueueBufferFullError(
        `RabbitMQ is unreachable and ${this.#waiting} publishes already wait for it`,
        { capacity: this.#maxBuffered },
      );
    }
    this.#waiting++;
    // Ends the send loop when the publish gives up (timeout, abort).
    const stop = new AbortController();
    const abort = () => stop.abort();
    signal?.addEventListener('abort', abort, { once: true });
    let nacked: PublishRejectedError | undefined;
    try {
      const attempt = async (): Promise<void> => {
        for (let n = 0; ; n++) {
          const session = await this.#publisher(stop.signal);
          const pub = session.pub;
          try {
            if (!session.declared.has(topic)) {
              await this.#declareQueue(session.model, topic, 'default');
              session.declared.add(topic);
            }
            await confirmPublish(pub, this.#topicsExchange, topic, content, props);
            return;
          } catch (err) {
            if (isFinal(err) || this.#closed) throw err;
            // Unroutable (queue deleted): declare it again. Channel or
            // connection died before the confirm: send it again. A nack:
            // a new channel, and again after a pause (amqp-confirm.ts).
            if (err instanceof UnroutableError) this.#queueGone(session, topic);
            if (err instanceof PublishRejectedError) {
              nacked = err;
              await this.#afterNack(session, pub, n, stop.signal);
            } else await sleep(10, { signal: stop.signal, unref: true });
          }
        }
      };
      await withTimeout(raceAbort(attempt(), signal), this.#publishTimeoutMs, 'publish to RabbitMQ').catch(
        (err: unknown) => {
          if (err instanceof TimeoutError) {
            if (nacked !== undefined) {
              throw new PublishRejectedError(
                `RabbitMQ refused the message (negative confirm) each time it was sent for ${this.#publishTimeoutMs} ms: its queue has no leader (a cluster without a majority) or is full`,
                { cause: nacked },
              );
            }
            throw new TimeoutError(`publish to RabbitMQ at ${this.#where} timed out`, {
              timeoutMs: this.#publishTimeoutMs,
            });
          }
          throw err;
        },
      );
    } finally {
      this.#waiting--;
      stop.abort();
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * No queue is bound for `topic` any more (deleted): it is declared again
   * before the next publish, and this adapter's consumers of `topic` start
   * again on new channels. RabbitMQ 3.10 does not always cancel the
   * consumers of a deleted quorum queue; one left running would take the
   * messages of the queue declared again under the same name and never see
   * them (they come back only when its channel closes).
   */
  #queueGone(session: Session, topic: string): void {
    session.declared.delete(topic);
    for (const c of this.#consumers) {
      if (c.topic !== topic || !channelAlive(c.channel)) continue;
      this.#logger?.info?.('AMQP queue deleted under a consumer; consuming it again', { topic });
      c.channel!.close().catch(() => {}); // its close handler starts it again
    }
  }

  /**
   * After a nack: closes the channel that nacked (it is replaced at once,
   * see #openPublisher) unless that happened already, then waits
   * `backoff(attempt)`.
   */
  async #afterNack(session: Session, pub: ConfirmChannel, attempt: number, signal?: AbortSignal) {
    if (session.pub === pub && channelAlive(pub)) {
      this.#logger?.warn?.('AMQP publish refused (negative confirm); sending again on a new channel', {
        broker: session.where,
      });
      await pub.close().catch(() => {});
    }
    await sleep(this.#backoff(attempt), { signal, unref: true });
  }

  // ---- consume -------------------------------------------------------------

  /** Starts a consumer on its own channel; it is resumed after every reconnect. */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<QueueSubscription> {
    checkAdapterConsume(topic, onDelivery, options);
    checkQueueName('topic', this.#queueName(topic, options.group));
    if (options.deadLetterTopic !== undefined) {
      checkQueueName('deadLetterTopic', this.#queueName(options.deadLetterTopic, 'default'));
    }
    if (this.#closed) throw new ClosedError('queue adapter is closed');
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
    await this.#ready();
    this.#consumers.add(consumer);
    await this.#startConsumer(consumer, true);
    return {
      close: async () => {
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

  async #startConsumer(consumer: AmqpConsumer, throwOnError = false): Promise<void> {
    const session = this.#session;
    if (!consumer.open || this.#closed || session === undefined || !session.alive) return;
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
        if (consumer.open && session.alive && !this.#closed) this.#restartLater(consumer);
      });
      const { topic, options } = consumer;
      const queue = await this.#declareQueue(session.model, topic, options.group);
      if (options.deadLetterTopic !== undefined) {
        await this.#declareDeadLetterQueue(session.model, options.deadLetterTopic, queue);
      }
      await ch.prefetch(options.prefetch);
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
        this.#deliver(consumer, ch, queue, msg);
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
    sleep(delay, { signal: this.#stop.signal, unref: true }).then(
      () => {
        if (this.#session?.alive) void this.#startConsumer(consumer);
      },
      () => {},
    );
  }

  /**
   * Publishes a copy of `msg` (same bytes) and resolves on its confirm. If
   * it is unroutable (its queue or binding was deleted), `repair` declares
   * the topology again and it is sent once more; if it is nacked, it is
   * sent again on a new channel for up to `publishTimeoutMs`.
   */
  async #republish(
    msg: ConsumeMessage,
    exchange: string,
    routingKey: string,
    props: Options.Publish,
    repair: (model: ChannelModel) => Promise<unknown>,
  ): Promise<void> {
    const mandatory = { ...props, mandatory: true };
    const deadline = Date.now() + this.#publishTimeoutMs;
    let repaired = false;
    for (let n = 0; ; n++) {
      const session = await this.#publisher(undefined);
      const pub = session.pub;
      try {
        await confirmPublish(pub, exchange, routingKey, msg.content, mandatory);
        return;
      } catch (err) {
        if (err instanceof UnroutableError && !repaired) {
          repaired = true;
          await repair(session.model);
        } else if (err instanceof PublishRejectedError && Date.now() < deadline) {
          await this.#afterNack(session, pub, n);
        } else throw err;
      }
    }
  }

  /** Hands a delivery to the consumer (stamping an id first on a message that has none). */
  #deliver(consumer: AmqpConsumer, channel: Channel, queue: string, msg: ConsumeMessage): void {
    const ctx: AmqpDeliveryContext = {
      topic: consumer.topic,
      queue,
      deadLetterTopic: consumer.options.deadLetterTopic,
      deadLetterExchange: this.#deadLetterExchange,
      channel,
      msg,
      live: () => channelAlive(channel) && consumer.channel === channel,
      republish: (exchange, routingKey, props, repair) =>
        this.#republish(msg, exchange, routingKey, props, repair),
      redeclare: (model) => this.#declareQueue(model, consumer.topic, consumer.options.group),
      redeclareDeadLetter: (model, deadTopic) => this.#declareDeadLetterQueue(model, deadTopic, queue),
      report: (err) => reportTo(consumer, err),
    };
    if (hasMessageId(msg)) consumer.onDelivery(amqpDelivery(ctx));
    else void stampMessageId(ctx);
  }

  /**
   * Stops consumers, waits for the confirms in flight and closes the
   * connection it created.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const c of this.#consumers) c.open = false;
    const session = this.#session;
    this.#session = undefined;
    await Promise.all(
      [...this.#consumers].map((c) =>
        channelAlive(c.channel) ? c.channel!.close().catch(() => {}) : undefined,
      ),
    );
    this.#consumers.clear();
    if (session?.alive) {
      session.alive = false;
      if (channelAlive(session.pub)) {
        // Bounded: a broker that stopped answering must not hang close().
        await withTimeout(session.pub.waitForConfirms(), 5_000, 'waiting for confirms').catch(() => {});
        await session.pub.close().catch(() => {});
      }
      if (this.#owned) await session.model.close().catch(() => {});
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
