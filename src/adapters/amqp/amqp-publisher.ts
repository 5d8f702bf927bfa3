import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { PublishRejectedError, QueueBufferFullError, TimeoutError } from '../../errors.js';
import { raceAbort, withTimeout } from '../../internal/abort.js';
import { sleep } from '../../internal/timers.js';
import type { Backoff } from '../../resilience/backoff.js';
import type { Clock, Logger } from '../../types.js';
import { channelAlive, confirmPublish, isFinal, UnroutableError } from './amqp-confirm.js';
import type { AmqpConnection, Session } from './amqp-connection.js';
import type { AmqpTopology } from './amqp-topology.js';

/**
 * @internal The publisher of the RabbitMQ adapter: publishes with confirms
 * and the replay buffer.
 *
 * - **Fast path**: connected, the topic's queue declared on this connection,
 *   the confirm channel open: one publish, resolved on its confirm.
 * - **Slow path** (the replay buffer): anything else. The publish waits for a
 *   connection (at most `maxBuffered` publishes wait while disconnected:
 *   `QueueBufferFullError` past them), declares the queue, and sends; if the
 *   channel or connection dies before the confirm it sends again on the
 *   next one (so a message may be stored twice, never zero times once
 *   `publish` resolved); an unroutable message (its queue was deleted) is
 *   declared for and sent again; a nack gets a new channel and, after a
 *   backoff, the same message again. All within `publishTimeoutMs`.
 * - **Republish**: the copy a consumer's retry or dead letter sends (same
 *   bytes), with the same repair-and-resend rules.
 */

/** What the publisher needs. */
export interface AmqpPublisherOptions {
  connection: AmqpConnection;
  topology: AmqpTopology;
  backoff: Backoff;
  maxBuffered: number;
  publishTimeoutMs: number;
  logger: Logger | undefined;
  /** Time source of the republish deadline. */
  clock: Clock;
  /** The queue of `topic` was deleted: consumers of it start again. */
  onQueueGone(topic: string): void;
}

/**
 * Publishes with confirms for one adapter.
 *
 * @example
 * ```ts
 * const publisher = new AmqpPublisher({ connection, topology, backoff, maxBuffered: 10_000, publishTimeoutMs: 30_000, logger, clock: systemClock, onQueueGone });
 * await publisher.publish('orders', content, props, undefined);
 * ```
 */
export class AmqpPublisher {
  readonly #connection: AmqpConnection;
  readonly #topology: AmqpTopology;
  readonly #backoff: Backoff;
  readonly #maxBuffered: number;
  readonly #publishTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  readonly #onQueueGone: (topic: string) => void;
  #waiting = 0;

  constructor(options: AmqpPublisherOptions) {
    this.#connection = options.connection;
    this.#topology = options.topology;
    this.#backoff = options.backoff;
    this.#maxBuffered = options.maxBuffered;
    this.#publishTimeoutMs = options.publishTimeoutMs;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#onQueueGone = options.onQueueGone;
  }

  /** Publishes `content` to `topic` and resolves on the broker's confirm (see the module comment). */
  async publish(
    topic: string,
    content: Buffer,
    props: Options.Publish,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const session = this.#connection.session;
    if (
      session?.alive &&
      session.pub !== undefined &&
      session.declared.has(topic) &&
      channelAlive(session.pub)
    ) {
      // Fast path: connected and the topology is known.
      try {
        await confirmPublish(session.pub, this.#topology.topicsExchange, topic, content, props);
        return;
      } catch (err) {
        if (isFinal(err)) throw err;
        // The channel died under the publish, or the queue was deleted: the
        // slow path re-declares and sends it again.
        if (err instanceof UnroutableError) this.#queueGone(session, topic);
      }
    }
    await this.#publishSlow(topic, content, props, signal);
  }

  async #publishSlow(
    topic: string,
    content: Buffer,
    props: Options.Publish,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!this.#connection.connected && this.#waiting >= this.#maxBuffered) {
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
          const session = await this.#connection.publisher(stop.signal);
          const pub = session.pub;
          try {
            if (!session.declared.has(topic)) {
              await this.#topology.declareQueue(session.model, topic, 'default');
              session.declared.add(topic);
            }
            await confirmPublish(pub, this.#topology.topicsExchange, topic, content, props);
            return;
          } catch (err) {
            if (isFinal(err) || this.#connection.closed) throw err;
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
            throw new TimeoutError(`publish to RabbitMQ at ${this.#connection.where} timed out`, {
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
   * again on new channels (see `onQueueGone`).
   */
  #queueGone(session: Session, topic: string): void {
    session.declared.delete(topic);
    this.#onQueueGone(topic);
  }

  /**
   * After a nack: closes the channel that nacked (it is replaced at once,
   * see amqp-connection.ts) unless that happened already, then waits
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

  /**
   * Publishes a copy of `msg` (same bytes) and resolves on its confirm. If
   * it is unroutable (its queue or binding was deleted), `repair` declares
   * the topology again and it is sent once more; if it is nacked, it is
   * sent again on a new channel for up to `publishTimeoutMs`.
   */
  async republish(
    msg: ConsumeMessage,
    exchange: string,
    routingKey: string,
    props: Options.Publish,
    repair: (model: ChannelModel) => Promise<unknown>,
  ): Promise<void> {
    const mandatory = { ...props, mandatory: true };
    const deadline = this.#clock.monotonic() + this.#publishTimeoutMs;
    let repaired = false;
    for (let n = 0; ; n++) {
      const session = await this.#connection.publisher(undefined);
      const pub = session.pub;
      try {
        await confirmPublish(pub, exchange, routingKey, msg.content, mandatory);
        return;
      } catch (err) {
        if (err instanceof UnroutableError && !repaired) {
          repaired = true;
          await repair(session.model);
        } else if (err instanceof PublishRejectedError && this.#clock.monotonic() < deadline) {
          await this.#afterNack(session, pub, n);
        } else throw err;
      }
    }
  }
}
