import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { connect } from 'amqplib';
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
  InvalidArgumentError,
  InvalidOptionsError,
  PublishRejectedError,
  QueueBufferFullError,
  QueueMismatchError,
  TimeoutError,
} from '../../errors.js';
import { raceAbort, withTimeout } from '../../internal/abort.js';
import { bindToCurrentContext, captureContext } from '../../internal/async-context.js';
import { type Backoff, fullJitterBackoff } from '../../internal/backoff.js';
import { redactUrl } from '../../internal/redact.js';
import { sleep } from '../../internal/timers.js';
import { durationOption } from '../../internal/validate.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import type { Logger } from '../../types.js';
import { type AmqpDeliveryContext, amqpDelivery, hasMessageId, stampMessageId } from './amqp-delivery.js';
import { checkOutgoing, checkQueueName, PUBLISHED_AT } from './amqp-message.js';
import {
  AMQP_QUEUE_DEFAULTS,
  type AmqpQueueAdapterOptions,
  checkOptions,
} from './amqp-queue-adapter-options.js';
import { ADOPT_OPTION, declareQueue } from './amqp-queue-declaration.js';

interface Session {
  model: ChannelModel;
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

/** Message ids the broker returned as unroutable, per publish channel (a return precedes its confirm). */
const returnedIds = new WeakMap<ConfirmChannel, Map<string, number>>();

/** Reports a consumer's failure to its `onError`; a listener's throw is not ours to handle. */
function reportTo(consumer: { options: QueueAdapterConsumeOptions }, err: unknown): void {
  try {
    consumer.options.onError?.(err);
  } catch {
    // ignored: the consumer goes on
  }
}

/** A mandatory publish matched no queue (its queue or binding was deleted). */
class UnroutableError extends Error {}

/**
 * Failures that sending again cannot cure: a negative confirm, a queue that
 * exists with other arguments, a message amqplib cannot encode.
 */
function isFinal(err: unknown): boolean {
  return (
    err instanceof PublishRejectedError ||
    err instanceof QueueMismatchError ||
    err instanceof InvalidArgumentError
  );
}

function isModel(value: unknown): value is ChannelModel {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { createConfirmChannel?: unknown }).createConfirmChannel === 'function'
  );
}

function channelAlive(channel: Channel | undefined): boolean {
  // amqplib sets `ch` to undefined... no public flag; track closes ourselves.
  return channel !== undefined && (channel as { __scaleoutClosed?: boolean }).__scaleoutClosed !== true;
}

function markClosedOnClose(channel: Channel): void {
  channel.once('close', () => {
    (channel as { __scaleoutClosed?: boolean }).__scaleoutClosed = true;
  });
}

/**
 * RabbitMQ {@link QueueAdapter} on amqplib.
 *
 * - Durable queues, persistent messages, publisher confirms: `publish`
 *   resolves when the broker has the message.
 * - Per-consumer channel with `prefetch`; a dead-letter exchange
 *   (`<prefix>scaleout.dead-letter`) on every queue, bound to the consumer's
 *   dead-letter topic.
 * - Reconnects by itself (capped full-jitter backoff), re-declares topology
 *   and resumes consumers; never acknowledges a delivery tag of a channel
 *   that died (the broker redelivers that message).
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
 * const queue = new MessageQueue({ adapter: amqpQueueAdapter({ url: 'amqp://localhost' }) });
 * ```
 */
export class AmqpQueueAdapter implements QueueAdapter {
  readonly #open: () => Promise<ChannelModel>;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #prefix: string;
  readonly #backoff: Backoff;
  readonly #maxBuffered: number;
  readonly #publishTimeoutMs: number;
  readonly #adoptExisting: boolean;
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
    const d = AMQP_QUEUE_DEFAULTS;
    if (typeof options === 'string') {
      throw new InvalidOptionsError('amqpQueueAdapter takes an options object: pass { url: <amqp:// URL> }', {
        option: 'url',
      });
    }
    checkOptions(options);
    if (options === undefined) {
      throw new InvalidOptionsError('options must be an object with url or connection', { option: 'url' });
    }
    const { url, connection } = options;
    if ((url === undefined) === (connection === undefined)) {
      throw new InvalidOptionsError('give exactly one of url and connection', { option: 'url' });
    }
    if (url !== undefined) {
      if (typeof url !== 'string' || !/^amqps?:\/\//.test(url)) {
        throw new InvalidOptionsError(
          `url must start with amqp:// or amqps:// (got ${typeof url === 'string' ? redactUrl(url) : typeof url})`,
          { option: 'url' },
        );
      }
      this.#where = redactUrl(url);
      this.#open = () => connect(url);
      this.#owned = true;
    } else if (typeof connection === 'function') {
      this.#where = 'the given connection factory';
      this.#open = connection;
      this.#owned = true;
    } else if (isModel(connection)) {
      this.#where = 'the given connection';
      this.#owned = false;
      this.#open = async () => {
        if (this.#usedGivenConnection) {
          throw new ConnectionError('the given AMQP connection closed; pass url or a factory to reconnect');
        }
        this.#usedGivenConnection = true;
        return connection;
      };
    } else {
      throw new InvalidOptionsError('connection must be an amqplib connection or a function returning one', {
        option: 'connection',
      });
    }
    const prefix = options.prefix ?? d.prefix;
    if (
      typeof prefix !== 'string' ||
      prefix.length > 100 ||
      Buffer.byteLength(prefix, 'utf8') > 200 ||
      // biome-ignore lint/suspicious/noControlCharactersInRegex: names must not hold control characters
      /[\u0000-\u001f\u007f]/.test(prefix) ||
      prefix.startsWith('amq.')
    ) {
      throw new InvalidOptionsError(
        'prefix must be a string of at most 100 characters (200 bytes), without control characters, not starting with "amq."',
        { option: 'prefix' },
      );
    }
    this.#prefix = prefix;
    const baseMs = durationOption('reconnectBaseMs', options.reconnectBaseMs ?? d.reconnectBaseMs, 1);
    const maxMs = durationOption('reconnectMaxMs', options.reconnectMaxMs ?? d.reconnectMaxMs, 1);
    if (maxMs < baseMs) {
      throw new InvalidOptionsError('reconnectMaxMs must be >= reconnectBaseMs', {
        option: 'reconnectMaxMs',
      });
    }
    this.#backoff = fullJitterBackoff({ baseMs, maxMs });
    const maxBuffered = options.maxBufferedPublishes ?? d.maxBufferedPublishes;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 0) {
      throw new InvalidOptionsError('maxBufferedPublishes must be an integer >= 0', {
        option: 'maxBufferedPublishes',
      });
    }
    this.#maxBuffered = maxBuffered;
    this.#publishTimeoutMs = durationOption(
      'publishTimeoutMs',
      options.publishTimeoutMs ?? d.publishTimeoutMs,
    );
    const adopt = options.adoptExistingQueues ?? d.adoptExistingQueues;
    if (typeof adopt !== 'boolean') {
      throw new InvalidOptionsError(`${ADOPT_OPTION} must be a boolean`, { option: ADOPT_OPTION });
    }
    this.#adoptExisting = adopt;
    if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
      throw new InvalidOptionsError('logger must be an object with warn()/error() methods', {
        option: 'logger',
      });
    }
    this.#logger = options.logger;
  }

  /** Times the adapter re-established a lost connection. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.#session?.alive === true;
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
      try {
        return await this.#connectOnce();
      } catch (err) {
        if (this.#closed) throw new ClosedError('queue adapter is closed');
        if (!this.#owned && this.#usedGivenConnection) throw err;
        const delay = this.#backoff(attempt);
        this.#logger?.warn?.('AMQP connect failed; retrying', {
          broker: this.#where,
          attempt,
          delayMs: delay,
          error: err instanceof Error ? err.message : String(err),
        });
        await sleep(delay, { signal: this.#stop.signal, unref: true }).catch(() => {});
      }
    }
  }

  async #connectOnce(): Promise<Session> {
    const hadSession = this.#session !== undefined;
    let model: ChannelModel;
    try {
      model = await this.#open();
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      throw new ConnectionError(`cannot connect to RabbitMQ at ${this.#where}`, { cause: err });
    }
    const session: Session = { model, pub: undefined as never, declared: new Set(), alive: true };
    const lost = () => {
      if (!session.alive) return;
      session.alive = false;
      for (const c of this.#consumers) c.channel = undefined;
      if (this.#closed) return;
      this.#logger?.warn?.('AMQP connection lost; reconnecting', { broker: this.#where });
      // Reconnect in the background so consumers resume without a publish.
      this.#ready().catch(() => {});
    };
    model.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP connection error', { broker: this.#where, error: err.message });
    });
    model.on('close', lost);
    try {
      session.pub = await this.#openPublisher(model, session);
      await this.#declareExchanges(session.pub);
    } catch (err) {
      lost();
      await model.close().catch(() => {});
      throw new ConnectionError(`cannot open a channel on ${this.#where}`, { cause: err });
    }
    if (this.#closed) {
      session.alive = false;
      await model.close().catch(() => {});
      throw new ClosedError('queue adapter is closed');
    }
    this.#session = session;
    if (hadSession) this.#reconnects++;
    this.#logger?.info?.('AMQP connected', { broker: this.#where });
    for (const c of this.#consumers) void this.#startConsumer(c);
    return session;
  }

  async #openPublisher(model: ChannelModel, session: Session): Promise<ConfirmChannel> {
    const pub = await model.createConfirmChannel();
    markClosedOnClose(pub);
    const returned = new Map<string, number>();
    returnedIds.set(pub, returned);
    pub.on('return', (msg: ConsumeMessage) => {
      const id = String(msg.properties.messageId ?? '');
      returned.set(id, (returned.get(id) ?? 0) + 1);
    });
    pub.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP publish channel error', { error: err.message });
    });
    pub.once('close', () => {
      // A channel-level error (not a lost connection): open a new one.
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
    await declareQueue(
      { model, adoptExisting: this.#adoptExisting, logger: this.#logger },
      {
        name,
        options: {
          durable: true,
          arguments: {
            'x-dead-letter-exchange': this.#deadLetterExchange,
            'x-dead-letter-routing-key': name,
          },
        },
        bindings: [{ exchange: this.#topicsExchange, routingKey: topic }, ...extra],
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
        await this.#confirm(session.pub, this.#topicsExchange, topic, content, props);
        return;
      } catch (err) {
        if (isFinal(err)) throw err;
        // The channel died under the publish, or the queue was deleted: the
        // slow path re-declares and sends it again.
        if (err instanceof UnroutableError) session.declared.delete(topic);
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
        this.#maxBuffered,
      );
    }
    this.#waiting++;
    try {
      const attempt = async (): Promise<void> => {
        for (;;) {
          const session = await this.#publisher(signal);
          try {
            if (!session.declared.has(topic)) {
              await this.#declareQueue(session.model, topic, 'default');
              session.declared.add(topic);
            }
            await this.#confirm(session.pub, this.#topicsExchange, topic, content, props);
            return;
          } catch (err) {
            if (isFinal(err) || this.#closed) throw err;
            // Unroutable (queue deleted): declare it again. Channel or
            // connection died before the confirm: send it again.
            if (err instanceof UnroutableError) session.declared.delete(topic);
            await sleep(10, { signal, unref: true });
          }
        }
      };
      await withTimeout(raceAbort(attempt(), signal), this.#publishTimeoutMs, 'publish to RabbitMQ').catch(
        (err: unknown) => {
          if (err instanceof TimeoutError) {
            throw new TimeoutError(`publish to RabbitMQ at ${this.#where} timed out`, {
              timeoutMs: this.#publishTimeoutMs,
            });
          }
          throw err;
        },
      );
    } finally {
      this.#waiting--;
    }
  }

  #confirm(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    content: Buffer,
    props: Options.Publish,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        channel.publish(exchange, routingKey, content, props, (err) => {
          if (err === null || err === undefined) {
            const returned = returnedIds.get(channel);
            const id = String(props.messageId ?? '');
            const count = returned?.get(id);
            if (count === undefined) return resolve();
            if (count <= 1) returned!.delete(id);
            else returned!.set(id, count - 1);
            reject(new UnroutableError(`no queue bound for "${routingKey}"`));
          } else if (/nack/i.test(String((err as Error).message))) {
            reject(
              new PublishRejectedError('RabbitMQ refused the message (negative confirm)', { cause: err }),
            );
          } else reject(new ConnectionError('channel closed before the broker confirmed', { cause: err }));
        });
      } catch (err) {
        // amqplib throws TypeError/RangeError for what it cannot encode (a
        // field over 255 bytes, headers over its 64 KiB buffer): final.
        if (err instanceof TypeError || err instanceof RangeError) {
          reject(
            new InvalidArgumentError(
              'RabbitMQ cannot carry this message (a property or the headers are too large)',
              {
                argument: 'message',
                cause: err,
              },
            ),
          );
        } else reject(new ConnectionError('channel closed', { cause: err }));
      }
    });
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
   * the topology again and it is sent once more.
   */
  async #republish(
    msg: ConsumeMessage,
    exchange: string,
    routingKey: string,
    props: Options.Publish,
    repair: (model: ChannelModel) => Promise<unknown>,
  ): Promise<void> {
    const mandatory = { ...props, mandatory: true };
    const session = await this.#publisher(undefined);
    try {
      await this.#confirm(session.pub, exchange, routingKey, msg.content, mandatory);
    } catch (err) {
      if (!(err instanceof UnroutableError)) throw err;
      await repair(session.model);
      await this.#confirm(session.pub, exchange, routingKey, msg.content, mandatory);
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
