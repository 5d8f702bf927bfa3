import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueAdapterSubscription,
  QueueConnectionState,
  QueueDelivery,
  QueueOutgoingMessage,
} from '../../contracts/queue.js';
import { ClosedError, InvalidOptionsError } from '../../errors.js';
import { closeSignal, raceAbort, throwIfAborted, waitOrAbort } from '../../internal/abort.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { sleep } from '../../internal/timers.js';
import { clockOption, durationOption } from '../../internal/validate.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import type { Logger, Subscription } from '../../types.js';
import { type RedisClient, RedisConnectionHandle, redisFailure } from './connection.js';
import { validatePrefix } from './keys.js';
import { handBack } from './queue-claimer.js';
import { RedisQueueConnectionState } from './queue-connection-state.js';
import { nothingHeld, type StreamConsumer, type StreamsContext } from './queue-consumer.js';
import { streamFields } from './queue-entry.js';
import {
  checkCloseOptions,
  checkOptions,
  REDIS_STREAMS_QUEUE_DEFAULTS,
  type RedisStreamsQueueAdapterCloseOptions,
  type RedisStreamsQueueAdapterOptions,
} from './queue-options.js';
import { runReader } from './queue-reader.js';
import { QueueStreams } from './queue-stream.js';

export {
  REDIS_STREAMS_QUEUE_DEFAULTS,
  type RedisStreamsQueueAdapterCloseOptions,
  type RedisStreamsQueueAdapterOptions,
} from './queue-options.js';

/**
 * Redis Streams {@link QueueAdapter}: one stream per topic, one consumer
 * group per {@link QueueAdapterConsumeOptions.group} (`XREADGROUP`/`XACK`),
 * blocking reads on a connection of their own per consumer.
 *
 * Delivery counts come from the stream's pending-entries list, so they
 * include redeliveries after a crash. A failed attempt (`retry`) leaves the
 * message pending and marks it idle, so the next sweep (`XAUTOCLAIM`)
 * delivers it again with its count raised; messages of a consumer that
 * died are reclaimed the same way after `claimIdleMs`. Dead letters go to
 * the dead-letter topic's stream. Streams are trimmed to about `maxLength`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { MessageQueue } from 'scaleout';
 * import { redisStreamsQueueAdapter } from 'scaleout/redis';
 * const queue = new MessageQueue({ adapter: redisStreamsQueueAdapter({ connection: new Redis() }) });
 * ```
 */
export class RedisStreamsQueueAdapter implements QueueAdapter {
  /** `messaging.system` of this back end: `redis`. */
  readonly messagingSystem: string = 'redis';
  readonly #handle: RedisConnectionHandle;
  readonly #consumerName: string;
  readonly #blockMs: number;
  readonly #claimIdleMs: number;
  readonly #sweepIntervalMs: number;
  readonly #closeTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #streams: QueueStreams;
  readonly #consumers = new Set<StreamConsumer>();
  readonly #stop = new AbortController();
  /** What the consumers' reader, claimer and deliveries share with the adapter. */
  readonly #context: StreamsContext;
  readonly #connectionState: RedisQueueConnectionState;
  /** `close()` was called: `consume()` is refused (publishes still go out while it drains). */
  readonly #life = new Lifecycle('queue adapter');
  /** The connections are being closed: the consumers have stopped. */
  #closed = false;

  constructor(options: RedisStreamsQueueAdapterOptions) {
    const d = REDIS_STREAMS_QUEUE_DEFAULTS;
    if (typeof options === 'string') {
      throw new InvalidOptionsError(
        'redisStreamsQueueAdapter takes an options object: pass { connection: <url or ioredis client> }',
        { option: 'connection' },
      );
    }
    checkOptions(options);
    if (options === undefined) {
      throw new InvalidOptionsError('options must be an object with a connection', { option: 'connection' });
    }
    const prefix = validatePrefix(options.prefix ?? d.prefix);
    this.#blockMs = durationOption('blockMs', options.blockMs ?? d.blockMs, 1);
    this.#claimIdleMs = durationOption('claimIdleMs', options.claimIdleMs ?? d.claimIdleMs, 10);
    this.#sweepIntervalMs = durationOption(
      'sweepIntervalMs',
      options.sweepIntervalMs ?? d.sweepIntervalMs,
      1,
    );
    this.#closeTimeoutMs = durationOption('closeTimeoutMs', options.closeTimeoutMs ?? d.closeTimeoutMs, 0);
    const maxLength = options.maxLength ?? d.maxLength;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new InvalidOptionsError('maxLength must be a positive integer', { option: 'maxLength' });
    }
    const name = options.consumerName ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new InvalidOptionsError('consumerName must be a non-empty string', { option: 'consumerName' });
    }
    this.#consumerName = name;
    if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
      throw new InvalidOptionsError('logger must be an object with warn()/error() methods', {
        option: 'logger',
      });
    }
    this.#logger = options.logger;
    clockOption(options.clock);
    const clock = options.clock ?? d.clock;
    this.#handle = new RedisConnectionHandle(options.connection);
    if (this.#handle.owned) {
      // Ours: report its errors to the logger (ioredis prints unhandled ones).
      this.#handle.client.on('error', (err: Error) => {
        this.#logger?.warn?.('Redis connection error', { error: err.message });
      });
    }
    this.#connectionState = new RedisQueueConnectionState(this.#handle.client, () => this.#closed);
    this.#streams = new QueueStreams(() => this.#client, prefix, maxLength);
    const adapter = this;
    this.#context = {
      get client() {
        return adapter.#client;
      },
      streams: this.#streams,
      consumerName: this.#consumerName,
      blockMs: this.#blockMs,
      claimIdleMs: this.#claimIdleMs,
      sweepIntervalMs: this.#sweepIntervalMs,
      logger: this.#logger,
      clock,
      get closed() {
        return adapter.#closed;
      },
      stopSignal: this.#stop.signal,
      consumers: this.#consumers,
    };
  }

  get #client(): RedisClient {
    return this.#handle.client;
  }

  /**
   * The state of the connection, read from the ioredis client's status (no
   * command sent): `idle` (a lazy client not used yet), `connecting`,
   * `connected`, `disconnected` (lost; ioredis reconnects), `closed`.
   */
  get connectionState(): QueueConnectionState {
    return this.#connectionState.watchers.state;
  }

  /** Calls `listener` with each new {@link connectionState} (a lost connection, a reconnect, close). */
  watchConnection(listener: (state: QueueConnectionState) => void): Subscription {
    return this.#connectionState.watchers.watch(listener);
  }

  /**
   * Appends the message to the topic's stream (creating the `default` group
   * first). A Redis failure rejects with `ConnectionError`; a topic key that
   * holds something other than a stream (another program's key) with
   * `CorruptDataError` naming the key; an aborted `signal` stops the wait
   * with `AbortedError` (the `XADD` may still land: publish again with the
   * same message id, consumers deduplicate by id).
   */
  async publish(
    topic: string,
    message: QueueOutgoingMessage,
    options?: QueueAdapterPublishOptions,
  ): Promise<void> {
    checkAdapterPublish(topic, message, options);
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    const signal = options?.signal;
    throwIfAborted(signal);
    const key = this.#streams.key(topic);
    const stored = (async () => {
      try {
        await this.#streams.ensureGroup(key, 'default', '0');
        await this.#streams.append(key, streamFields(message));
      } catch (err) {
        throw redisFailure('Redis Streams publish', err, key);
      }
    })();
    await raceAbort(stored, signal);
  }

  /**
   * Starts a consumer with its own blocking connection and a reclaim sweep.
   * Rejects with `CorruptDataError` when the topic's (or the dead-letter
   * topic's) key holds something other than a stream.
   *
   * Its `stopDelivering()` (called first by a consumer's graceful stop)
   * ends reading at once: a read blocked on the server is unblocked
   * (`CLIENT UNBLOCK`; without CLIENT rights, or on a Cluster, it ends when
   * its `BLOCK` runs out) and what it returned is still delivered, so the
   * stopping consumer holds nothing it has not started and other consumers
   * read the rest straight from the stream, without waiting `claimIdleMs`.
   */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<QueueAdapterSubscription> {
    checkAdapterConsume(topic, onDelivery, options);
    this.#life.assertOpen();
    const key = this.#streams.key(topic);
    try {
      await this.#streams.ensureGroup(key, options.group, options.group === 'default' ? '0' : '$');
    } catch (err) {
      throw redisFailure('Redis Streams consume', err, key);
    }
    if (options.deadLetterTopic !== undefined) {
      const deadKey = this.#streams.key(options.deadLetterTopic);
      try {
        await this.#streams.ensureGroup(deadKey, 'default', '0');
      } catch (err) {
        throw redisFailure('Redis Streams consume', err, deadKey);
      }
    }
    // Closed while the groups were created: nothing was started.
    this.#life.assertOpen();
    const reader = this.#handle.duplicate();
    reader.on('error', () => {});
    let markReadsStopped = () => {};
    const readsStopped = new Promise<void>((resolve) => {
      markReadsStopped = resolve;
    });
    const consumer: StreamConsumer = {
      topic,
      key,
      options,
      onDelivery,
      held: new Set(),
      reader,
      open: true,
      wake: undefined,
      sweepNow: true,
      loop: undefined,
      stop: new AbortController(),
      reading: true,
      readsStopped,
      markReadsStopped,
      readerId: undefined,
      drained: [],
    };
    // A new connection has a new CLIENT ID: asked again before the next read.
    reader.on('close', () => {
      consumer.readerId = undefined;
    });
    this.#consumers.add(consumer);
    consumer.loop = runReader(this.#context, consumer);
    return {
      stopDelivering: () => this.#stopDelivering(consumer),
      unsubscribe: () => this.#closeConsumer(consumer),
    };
  }

  /** Ends reading; resolves once the read loop will deliver nothing more. */
  async #stopDelivering(c: StreamConsumer): Promise<void> {
    if (c.reading) {
      c.reading = false;
      c.wake?.();
      let stopped = false;
      void c.readsStopped.then(() => {
        stopped = true;
      });
      // The blocked read returns now, as if its BLOCK had run out. Sent again
      // a few times: the read may reach the server after the first unblock.
      for (let tries = 0; tries < 5 && !stopped && c.open && !this.#closed; tries++) {
        const id = c.readerId;
        if (id !== undefined && id > 0) {
          await this.#client.call('CLIENT', 'UNBLOCK', String(id)).catch(() => {});
        }
        await Promise.race([c.readsStopped, sleep(20, { unref: true })]);
      }
    }
    // Bounded: a read the server never answers (Redis down, the command
    // queued until a reconnect) must not hold the stop. What such a read
    // still takes waits for `claimIdleMs`, as after a crash.
    await Promise.race([
      c.readsStopped,
      sleep(Math.min(this.#blockMs, this.#sweepIntervalMs) + 1_000, { unref: true }),
    ]);
  }

  async #closeConsumer(c: StreamConsumer): Promise<void> {
    if (!c.open) return;
    c.open = false;
    this.#consumers.delete(c);
    c.stop.abort();
    c.wake?.();
    c.reader.disconnect();
    await c.loop?.catch(() => {});
    if (c.held.size > 0 && !this.#closed) {
      // Hand held messages back: idle at once, so any consumer's sweep takes them.
      await handBack(this.#context, c);
    }
    c.held.clear();
    for (const resolve of c.drained.splice(0)) resolve();
  }

  /**
   * Stops every consumer it still has the way a consumer's graceful stop
   * does, then closes the connections it created. First each consumer
   * stops reading (a blocked read is unblocked; what it returned is still
   * delivered); then `close()` waits until every message the consumers
   * handed out was acknowledged, retried or dead-lettered, up to
   * `closeTimeoutMs` (or until `signal` aborts); then the readers close and
   * what is still held (a handler past the deadline) is handed back,
   * marked idle, for another consumer. Publishes still go out while it
   * waits (a handler may publish); `consume()` is refused with
   * `ClosedError` from the call on. Idempotent: every call gets the same
   * promise.
   *
   * @example
   * ```ts
   * const adapter = redisStreamsQueueAdapter({ connection: process.env.REDIS_URL!, closeTimeoutMs: 10_000 });
   * process.once('SIGTERM', () => adapter.close({ signal: AbortSignal.timeout(5_000) }));
   * ```
   */
  close(options?: RedisStreamsQueueAdapterCloseOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      signal = closeSignal(options, checkCloseOptions);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#life.close(() => this.#close(signal));
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    // closeTimeoutMs, or the signal if it aborts first.
    const deadline = waitOrAbort(this.#closeTimeoutMs, signal);
    try {
      const consumers = [...this.#consumers];
      // Each stop is itself bounded (a read Redis never answers).
      await Promise.race([Promise.all(consumers.map((c) => this.#stopDelivering(c))), deadline.passed]);
      await Promise.race([Promise.all(consumers.map((c) => nothingHeld(c))), deadline.passed]);
    } finally {
      deadline.cancel();
    }
    for (const c of [...this.#consumers]) await this.#closeConsumer(c);
    this.#closed = true;
    this.#stop.abort();
    this.#connectionState.detach();
    await this.#handle.close();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a Redis Streams {@link QueueAdapter} (see {@link RedisStreamsQueueAdapter}).
 *
 * @example
 * ```ts
 * import { MessageQueue } from 'scaleout';
 * import { redisStreamsQueueAdapter } from 'scaleout/redis';
 * const queue = new MessageQueue({
 *   adapter: redisStreamsQueueAdapter({ connection: process.env.REDIS_URL!, prefix: 'shop:queue:' }),
 * });
 * ```
 */
export function redisStreamsQueueAdapter(options: RedisStreamsQueueAdapterOptions): RedisStreamsQueueAdapter {
  return new RedisStreamsQueueAdapter(options);
}
