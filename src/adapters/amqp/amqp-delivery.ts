import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { v7 as uuidv7 } from 'uuid';
import type { QueueDelivery } from '../../contracts/queue.js';
import { failuresFromHeader, QUEUE_HEADERS } from '../../contracts/queue.js';
import { ConnectionError, InvalidArgumentError } from '../../errors.js';
import type { InFlight } from '../../internal/in-flight.js';
import { isMessageId } from '../../queue/adapter-input.js';
import {
  BASE64_FORMAT,
  brokerDeathHeaders,
  copyProperties,
  malformedReason,
  NO_HEADERS,
  publishedAtOf,
  stringHeaders,
} from './amqp-message.js';
import { brokerReturns } from './amqp-queue-type.js';

/**
 * @internal One RabbitMQ delivery as the consumer sees it: how it is read
 * (ids, counts, foreign messages) and settled (ack, retry copy, dead
 * letter), on the channel that delivered it only.
 */

/** Pause before a message whose retry or dead-lettering failed goes back to the broker, in ms. */
export const SETTLE_RETRY_MS = 1_000;

/**
 * What the deliveries of one consumer channel need from its adapter and
 * consumer: made once when the channel starts consuming (not per message,
 * which would allocate its closures on every delivery).
 */
export interface AmqpDeliveryContext {
  /** The topic consumed. */
  topic: string;
  /** The queue the messages come from. */
  queue: string;
  /** The consumer's dead-letter topic, if any. */
  deadLetterTopic: string | undefined;
  /** The dead-letter exchange. */
  deadLetterExchange: string;
  /** The channel that delivers them. */
  channel: Channel;
  /** Whether `channel` is still the consumer's live channel (a stale delivery tag is never used). */
  live(): boolean;
  /**
   * Publishes a copy of `msg` (same bytes) and resolves on its confirm; if
   * it is unroutable, `repair` declares the topology again and it is sent
   * once more.
   */
  republish(
    msg: ConsumeMessage,
    exchange: string,
    routingKey: string,
    props: Options.Publish,
    repair: (model: ChannelModel) => Promise<unknown>,
  ): Promise<void>;
  /** Declares the consumer's queue again. */
  redeclare(model: ChannelModel): Promise<unknown>;
  /** Declares the dead-letter topic's queue again. */
  redeclareDeadLetter(model: ChannelModel, deadTopic: string): Promise<unknown>;
  /** Reports a failure the caller does not see (to the consumer's `onError`). */
  report(err: unknown): void;
  /** The deliveries of `channel` handed out and not settled yet (the adapter's close waits for them). */
  inFlight: InFlight;
}

/** Settles a delivery once, only on the channel that delivered it, and only while that channel lives. */
class Settler {
  settled = false;
  readonly #ctx: AmqpDeliveryContext;
  readonly #msg: ConsumeMessage;

  constructor(ctx: AmqpDeliveryContext, msg: ConsumeMessage) {
    this.#ctx = ctx;
    this.#msg = msg;
    ctx.inFlight.add();
  }

  /** Marks it settled (no longer in flight). */
  #settle(): void {
    this.settled = true;
    this.#ctx.inFlight.done();
  }

  ack(): void {
    if (this.settled) return;
    this.#settle();
    if (this.#ctx.live()) this.#ctx.channel.ack(this.#msg);
  }

  /** Hands the message back to the broker for another delivery, after a pause. */
  requeueLater(): void {
    if (this.settled) return;
    this.#settle();
    const ctx = this.#ctx;
    const msg = this.#msg;
    const timer = setTimeout(() => {
      if (ctx.live()) ctx.channel.nack(msg, false, true);
    }, SETTLE_RETRY_MS);
    timer.unref();
  }

  /**
   * The channel that delivered it is gone: the broker takes the message
   * back by itself (and counts that); nothing is copied, so that it is not
   * retried or dead-lettered twice. Throws a `ConnectionError`.
   */
  gone(): void {
    if (this.#ctx.live()) return;
    if (!this.settled) this.#settle();
    throw new ConnectionError(
      'the channel that delivered this message closed: the broker delivers it again (nothing was copied)',
    );
  }

  /** Lets the broker dead-letter it through the queue's own dead-letter exchange. */
  reject(): void {
    if (this.settled) return;
    this.#settle();
    if (this.#ctx.live()) this.#ctx.channel.nack(this.#msg, false, false);
  }
}

/** Whether a delivery carries a usable message id. */
export function hasMessageId(msg: ConsumeMessage): boolean {
  const id = msg.properties.messageId as unknown;
  return typeof id === 'string' && id !== '';
}

/**
 * A message without a `message_id` (published by other code, e.g. the
 * design's `sendToQueue`) is given one that stays: a copy stamped with a
 * new UUID v7 is published to the same queue and confirmed, then the
 * original is acknowledged; the consumer receives the copy. Its id is then
 * the same on every redelivery and retry (within its group's queue). If the
 * copy fails, the original goes back to the broker and the failure is
 * reported.
 */
export async function stampMessageId(ctx: AmqpDeliveryContext, msg: ConsumeMessage): Promise<void> {
  // The channel died (the broker requeues the original): no copy. A death
  // between the copy's confirm and the ack still leaves two copies, with
  // two ids (nothing in a classic queue identifies the original).
  if (!ctx.live()) return;
  const settle = new Settler(ctx, msg);
  try {
    await ctx.republish(msg, '', ctx.queue, copyProperties(msg, {}, uuidv7()), ctx.redeclare);
    settle.ack();
  } catch (err) {
    settle.requeueLater();
    ctx.report(err);
  }
}

/**
 * The {@link QueueDelivery} of a message that has an id. The delivery
 * count is the validated `x-scaleout-failures` header (a forged one counts
 * as 0) plus one, plus the broker's returns of this copy: a quorum queue's
 * `x-delivery-count` on a redelivery, at least 1 (a classic queue only
 * flags it; see amqp-queue-type.ts). A body
 * that is not UTF-8, headers too large to copy, or a `message_id` that
 * `publish` would refuse (control characters, over 200 characters) make
 * it `malformed`.
 * Retries and dead letters publish a confirmed copy (every property and
 * header kept) before the original is acknowledged; if that fails, the
 * original goes back to the broker after a pause instead of being held.
 * When the channel that delivered it has died (a lost connection, a killed
 * node), they copy nothing and fail with `ConnectionError`: the broker
 * delivers the original again, and a copy would make it two.
 */
export function amqpDelivery(ctx: AmqpDeliveryContext, msg: ConsumeMessage): QueueDelivery {
  const queue = ctx.queue;
  const headers = stringHeaders(msg.properties.headers as Record<string, unknown> | undefined);
  const death = brokerDeathHeaders(msg);
  if (death !== NO_HEADERS) Object.assign(headers, death);
  const failures = failuresFromHeader(headers[QUEUE_HEADERS.failures]);
  const deliveryCount = failures + 1 + brokerReturns(msg);
  const id = msg.properties.messageId as string;
  // An id publish would refuse (a control character, over 200 characters):
  // another program's message, dead-lettered as the Redis reader does.
  const malformed =
    malformedReason(msg) ??
    (isMessageId(id) ? undefined : `message_id is not a message id (${id.length} characters)`);
  const binary = malformed?.startsWith('body') === true;
  const settle = new Settler(ctx, msg);
  const copy = (extra: Record<string, string>) => copyProperties(msg, extra, id);
  const failed = (err: unknown): never => {
    settle.requeueLater();
    throw err;
  };
  return {
    id,
    topic: ctx.topic,
    // Not text: the bytes in base64 (a dead letter keeps the bytes themselves).
    body: binary ? msg.content.toString('base64') : msg.content.toString('utf8'),
    headers: binary ? { ...headers, [QUEUE_HEADERS.bodyFormat]: BASE64_FORMAT } : headers,
    deliveryCount,
    publishedAt: publishedAtOf(msg),
    malformed,
    ack: async () => settle.ack(),
    retry: async () => {
      if (settle.settled) return;
      settle.gone();
      // The copy is confirmed before the original is acknowledged: at least once.
      await ctx
        .republish(msg, '', queue, copy({ [QUEUE_HEADERS.failures]: String(deliveryCount) }), ctx.redeclare)
        .catch(failed);
      settle.ack();
    },
    deadLetter: async (extra) => {
      if (settle.settled) return;
      settle.gone();
      const deadTopic = ctx.deadLetterTopic;
      if (deadTopic !== undefined) {
        try {
          await ctx.republish(msg, ctx.deadLetterExchange, queue, copy(extra), (model) =>
            ctx.redeclareDeadLetter(model, deadTopic),
          );
        } catch (err) {
          // amqplib cannot encode a copy of it: the broker dead-letters the
          // original itself (through the queue's dead-letter exchange).
          if (err instanceof InvalidArgumentError) {
            settle.reject();
            return;
          }
          failed(err);
        }
      }
      settle.ack();
    },
  };
}
