import type { ConsumeMessage, Options } from 'amqplib';
import { MAX_FAILURES_HEADER } from '../../contracts/queue.js';

/**
 * @internal The two RabbitMQ queue types scaleout declares, and what each
 * leaves to the broker.
 *
 * - **quorum** (the default): a Raft-replicated queue. Declared with
 *   `x-queue-type: quorum`, the dead-letter exchange and routing key,
 *   `x-dead-letter-strategy: at-least-once` with `x-overflow:
 *   reject-publish` (which at-least-once dead-lettering requires, RabbitMQ
 *   3.10+): a message the broker dead-letters (delivery limit, `nack`
 *   without requeue by another consumer, a TTL) stays in its queue until
 *   the dead-letter queue has confirmed it. `x-delivery-limit` is the
 *   broker's guard against a message that is never settled (its consumer
 *   crashes on it, again and again): after that many returns the broker
 *   dead-letters it, because no scaleout code survives to do it.
 * - **classic**: declared exactly as scaleout declared queues before queue
 *   types existed (durable, dead-letter exchange and routing key, no
 *   `x-queue-type`), so queues created by earlier versions stay equivalent.
 *
 * Delivery counting. A quorum queue counts the returns of a message (a
 * `nack` with requeue, a consumer's channel or connection closed or lost,
 * its node killed) in the `x-delivery-count` header, in the Raft log: exact,
 * kept across leader changes, and not forgeable (the broker writes it over
 * whatever the publisher set). A classic queue only flags a redelivery. So
 * the delivery count scaleout reports is, on both types: the failures
 * carried by scaleout's retry copies (`x-scaleout-failures`, which the
 * broker cannot know: every retry is a new message), plus one, plus the
 * broker's returns of this copy: `x-delivery-count` when the message is
 * flagged redelivered (at least 1), 0 otherwise.
 */

/** A RabbitMQ queue type scaleout declares. */
export type QueueType = 'quorum' | 'classic';

/** Every value of {@link QueueType}. */
export const QUEUE_TYPES: readonly QueueType[] = ['quorum', 'classic'];

/** The broker's header counting returns of a message (quorum queues). */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';

/** Arguments that only scaleout's quorum declaration carries. */
const QUORUM_ONLY = new Set(['x-queue-type', 'x-dead-letter-strategy', 'x-overflow', 'x-delivery-limit']);

/** What a queue of one type is declared with. */
export interface QueueTypeDeclaration {
  type: QueueType;
  /** The queue's name (its dead letters are routed with it). */
  name: string;
  deadLetterExchange: string;
  /** Quorum queues: `x-delivery-limit`, or `false` for none. */
  deliveryLimit: number | false;
}

/**
 * The `assertQueue` options of a scaleout queue of `type`.
 *
 * @example
 * ```ts
 * queueOptions({ type: 'quorum', name: 'orders', deadLetterExchange: 'scaleout.dead-letter', deliveryLimit: 20 });
 * ```
 */
export function queueOptions(d: QueueTypeDeclaration): Options.AssertQueue {
  const deadLetters = {
    'x-dead-letter-exchange': d.deadLetterExchange,
    'x-dead-letter-routing-key': d.name,
  };
  if (d.type === 'classic') return { durable: true, arguments: deadLetters };
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      ...deadLetters,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      ...(d.deliveryLimit === false ? {} : { 'x-delivery-limit': d.deliveryLimit }),
    },
  };
}

/**
 * How many times the broker returned this copy of the message before this
 * delivery: 0 unless it is flagged redelivered; then `x-delivery-count`
 * (an integer >= 1, at most {@link MAX_FAILURES_HEADER}), or 1 when the
 * header is missing or not such a number (a classic queue: it only flags).
 * On a classic queue anyone who publishes could set the header; like
 * `x-scaleout-failures`, a value in range can only shorten a message's tries.
 */
export function brokerReturns(msg: ConsumeMessage): number {
  if (msg.fields.redelivered !== true) return 0;
  const raw = (msg.properties.headers as Record<string, unknown> | undefined)?.[DELIVERY_COUNT_HEADER];
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return 1;
  return Math.min(n, MAX_FAILURES_HEADER);
}

/**
 * What to add to a 406 mismatch error when the mismatched argument tells
 * the queue types apart: an existing queue that lacks an argument only
 * quorum queues carry is not the quorum queue `type` asks for (most likely
 * a classic queue, as earlier scaleout versions declared), and one that has
 * it when `classic` is asked for is a quorum queue.
 */
export function typeMismatchHint(
  type: QueueType,
  argument: string | undefined,
  existing: { hasNone: boolean; receivedNone: boolean },
): string | undefined {
  if (argument === undefined || !QUORUM_ONLY.has(argument)) return undefined;
  if (type === 'quorum' && existing.hasNone) {
    return (
      'it is not a quorum queue as this adapter declares (queueType: quorum, the default): most likely a classic queue, ' +
      'as scaleout versions without queueType declared. Pass { queueType: "classic" } to keep using it as a classic queue, ' +
      'or move its messages to a quorum queue (see "Classic queues from earlier versions" in docs/operations.md)'
    );
  }
  if (type === 'classic' && existing.receivedNone) {
    return 'it is a quorum queue and this adapter declares classic queues (queueType: "classic"): pass { queueType: "quorum" }';
  }
  return undefined;
}
