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
import { QUEUE_HEADERS } from '../../contracts/queue.js';
import {
  ClosedError,
  ConnectionError,
  InvalidOptionsError,
  PublishRejectedError,
  QueueBufferFullError,
  TimeoutError,
} from '../../errors.js';
import { raceAbort, withTimeout } from '../../internal/abort.js';
import { type Backoff, fullJitterBackoff } from '../../internal/backoff.js';
import { redactUrl } from '../../internal/redact.js';
import { sleep } from '../../internal/timers.js';
import { durationOption } from '../../internal/validate.js';
import type { Logger } from '../../types.js';

/**
 * Options of {@link AmqpQueueAdapter}. Give `url` or `connection`.
 *
 * @example
 * ```ts
 * const adapter = amqpQueueAdapter({ url: process.env.AMQP_URL, maxBufferedPublishes: 5_000 });
 * ```
 */
export interface AmqpQueueAdapterOptions {
  /** `amqp://` or `amqps://` URL; the adapter connects and reconnects itself. */
  url?: string;
  /**
   * Instead of `url`: a function that opens a connection (called again on
   * every reconnect), or an open amqplib connection (reused and never closed
   * by the adapter; when it dies the adapter cannot reconnect it).
   */
  connection?: ChannelModel | (() => Promise<ChannelModel>);
  /** Prefix of every exchange and queue name. @default '' */
  prefix?: string;
  /** Scale of the first reconnect delay (capped full jitter), in ms. @default 100 */
  reconnectBaseMs?: number;
  /** Longest reconnect delay, in ms. @default 5_000 */
  reconnectMaxMs?: number;
  /** Publishes that may wait for a connection at once; more fail with `QueueBufferFullError`. @default 1_000 */
  maxBufferedPublishes?: number;
  /** How long a publish may wait for a connection and its confirm, in ms. @default 30_000 */
  publishTimeoutMs?: number;
  /** Receives connection events (URLs redacted). @default no logging */
  logger?: Logger;
}

/**
 * The defaults of {@link AmqpQueueAdapterOptions}.
 *
 * @example
 * ```ts
 * amqpQueueAdapter({ url, publishTimeoutMs: AMQP_QUEUE_DEFAULTS.publishTimeoutMs / 3 });
 * ```
 */
export const AMQP_QUEUE_DEFAULTS: Readonly<
  Required<Omit<AmqpQueueAdapterOptions, 'url' | 'connection' | 'logger'>>
> = {
  prefix: '',
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  maxBufferedPublishes: 1_000,
  publishTimeoutMs: 30_000,
};

interface Session {
  model: ChannelModel;
  pub: ConfirmChannel;
  /** Topology declared on this connection (queue/binding keys). */
  declared: Set<string>;
  alive: boolean;
}

interface AmqpConsumer {
  topic: string;
  options: QueueAdapterConsumeOptions;
  onDelivery: (delivery: QueueDelivery) => void;
  channel: Channel | undefined;
  starting: boolean;
  open: boolean;
  attempt: number;
}

const PUBLISHED_AT = 'x-scaleout-published-at';

/** Message ids the broker returned as unroutable, per publish channel (a return precedes its confirm). */
const returnedIds = new WeakMap<ConfirmChannel, Map<string, number>>();

/** A mandatory publish matched no queue (its queue or binding was deleted). */
class UnroutableError extends Error {}

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

function stringHeaders(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (
      k === PUBLISHED_AT ||
      k.startsWith('x-death') ||
      k.startsWith('x-first-death') ||
      k.startsWith('x-last-death')
    )
      continue;
    if (typeof v === 'string') out[k] = v;
    else if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
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
  readonly #logger: Logger | undefined;
  readonly #consumers = new Set<AmqpConsumer>();
  readonly #stop = new AbortController();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  #waiting = 0;
  #closed = false;
  #reconnects = 0;
  #usedGivenConnection = false;

  constructor(options: AmqpQueueAdapterOptions) {
    const d = AMQP_QUEUE_DEFAULTS;
    if (typeof options !== 'object' || options === null) {
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
    if (typeof prefix !== 'string' || prefix.length > 100) {
      throw new InvalidOptionsError('prefix must be a string of at most 100 characters', {
        option: 'prefix',
      });
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
    this.#connecting ??= this.#connectLoop().finally(() => {
      this.#connecting = undefined;
    });
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

  /** Declares the queue of (topic, group), bound to the topics exchange. */
  async #declareQueue(channel: Channel, topic: string, group: string): Promise<string> {
    const name = this.#queueName(topic, group);
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        'x-dead-letter-exchange': this.#deadLetterExchange,
        'x-dead-letter-routing-key': name,
      },
    });
    await channel.bindQueue(name, this.#topicsExchange, topic);
    return name;
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
        if (err instanceof PublishRejectedError) throw err;
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
              await this.#declareQueue(session.pub, topic, 'default');
              session.declared.add(topic);
            }
            await this.#confirm(session.pub, this.#topicsExchange, topic, content, props);
            return;
          } catch (err) {
            if (err instanceof PublishRejectedError || this.#closed) throw err;
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
        reject(new ConnectionError('channel closed', { cause: err }));
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
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    const consumer: AmqpConsumer = {
      topic,
      options,
      onDelivery,
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
      const queue = await this.#declareQueue(ch, topic, options.group);
      if (options.deadLetterTopic !== undefined) {
        const dlq = await this.#declareQueue(ch, options.deadLetterTopic, 'default');
        await ch.bindQueue(dlq, this.#deadLetterExchange, queue);
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
        consumer.onDelivery(this.#delivery(consumer, ch, queue, msg));
      });
    } catch (err) {
      if (consumer.channel === channel) consumer.channel = undefined;
      if (channelAlive(channel)) await channel!.close().catch(() => {});
      if (throwOnError) {
        throw new ConnectionError(`cannot start a consumer of "${consumer.topic}"`, { cause: err });
      }
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

  #delivery(consumer: AmqpConsumer, channel: Channel, queue: string, msg: ConsumeMessage): QueueDelivery {
    const headers = stringHeaders(msg.properties.headers as Record<string, unknown> | undefined);
    const failures = Number(headers[QUEUE_HEADERS.failures] ?? 0) || 0;
    const deliveryCount = failures + 1 + (msg.fields.redelivered ? 1 : 0);
    const publishedAtRaw = (msg.properties.headers as Record<string, unknown> | undefined)?.[PUBLISHED_AT];
    const publishedAt = typeof publishedAtRaw === 'number' ? publishedAtRaw : undefined;
    let settled = false;
    // Only ever acknowledge on the channel that delivered, and only while it lives.
    const ack = () => {
      if (settled) return;
      settled = true;
      if (channelAlive(channel) && consumer.channel === channel) channel.ack(msg);
    };
    const props = (extra: Record<string, string>): Options.Publish => ({
      persistent: msg.properties.deliveryMode === 2,
      messageId: msg.properties.messageId as string | undefined,
      contentType: msg.properties.contentType as string | undefined,
      headers: {
        ...headers,
        ...extra,
        ...(publishedAt === undefined ? {} : { [PUBLISHED_AT]: publishedAt }),
      },
    });
    const republish = async (
      exchange: string,
      routingKey: string,
      p: Options.Publish,
      repair: (channel: ConfirmChannel) => Promise<unknown>,
    ) => {
      const mandatory = { ...p, mandatory: true };
      const session = await this.#publisher(undefined);
      try {
        await this.#confirm(session.pub, exchange, routingKey, msg.content, mandatory);
      } catch (err) {
        if (!(err instanceof UnroutableError)) throw err;
        // Its queue or binding was deleted: declare it again, send once more.
        await repair(session.pub);
        await this.#confirm(session.pub, exchange, routingKey, msg.content, mandatory);
      }
    };
    return {
      id: (msg.properties.messageId as string | undefined) ?? '',
      topic: consumer.topic,
      body: msg.content.toString('utf8'),
      headers,
      deliveryCount,
      publishedAt,
      ack: async () => ack(),
      retry: async () => {
        if (settled) return;
        // The copy is confirmed before the original is acknowledged: at least once.
        await republish('', queue, props({ [QUEUE_HEADERS.failures]: String(deliveryCount) }), (ch) =>
          this.#declareQueue(ch, consumer.topic, consumer.options.group),
        );
        ack();
      },
      deadLetter: async (extra) => {
        if (settled) return;
        const deadTopic = consumer.options.deadLetterTopic;
        if (deadTopic !== undefined) {
          await republish(this.#deadLetterExchange, queue, props(extra), async (ch) => {
            const dlq = await this.#declareQueue(ch, deadTopic, 'default');
            await ch.bindQueue(dlq, this.#deadLetterExchange, queue);
          });
        }
        ack();
      },
    };
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
