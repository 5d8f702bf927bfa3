import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import {
  ConnectionError,
  InvalidArgumentError,
  PublishRejectedError,
  QueueMismatchError,
} from '../../errors.js';

/**
 * @internal One publish on a confirm channel and what its outcome means:
 *
 * - **ack**: the broker has the message (on a quorum queue: a majority of
 *   its members wrote it). `publish` may resolve.
 * - **return then ack** (mandatory, no queue bound): {@link UnroutableError};
 *   the caller declares the topology again and sends it once more.
 * - **nack**: the broker did not take it. On a quorum queue that happens
 *   while the queue has no leader (its leader's node died and no new one is
 *   elected yet, or the cluster has lost its majority) and when the queue is
 *   full with `x-overflow: reject-publish`. RabbitMQ 3.10 also keeps
 *   nacking on a channel that first published to a quorum queue while its
 *   leader was down, even after a new leader is elected: so a nack is
 *   answered with a new channel and, after a backoff, the same message again,
 *   until the publish's time is up ({@link PublishRejectedError} then).
 * - **channel closed before the confirm**: a `ConnectionError`; sent again
 *   on the next channel (it may then be stored twice, never zero times).
 */

/** A mandatory publish matched no queue (its queue or binding was deleted). */
export class UnroutableError extends Error {}

/** Message ids the broker returned as unroutable, per publish channel (a return precedes its confirm). */
const returnedIds = new WeakMap<ConfirmChannel, Map<string, number>>();

/** Starts counting the messages `channel` gets back as unroutable. */
export function trackReturns(channel: ConfirmChannel): void {
  const returned = new Map<string, number>();
  returnedIds.set(channel, returned);
  channel.on('return', (msg: ConsumeMessage) => {
    const id = String(msg.properties.messageId ?? '');
    returned.set(id, (returned.get(id) ?? 0) + 1);
  });
}

/**
 * Failures that sending again cannot cure: a queue that exists with other
 * arguments, a message amqplib cannot encode.
 */
export function isFinal(err: unknown): boolean {
  return err instanceof QueueMismatchError || err instanceof InvalidArgumentError;
}

/** Whether `channel` is open (amqplib has no public flag: {@link markClosedOnClose} keeps one). */
export function channelAlive(channel: Channel | undefined): boolean {
  return channel !== undefined && (channel as { __scaleoutClosed?: boolean }).__scaleoutClosed !== true;
}

/** Flags `channel` closed when it closes, for {@link channelAlive}. */
export function markClosedOnClose(channel: Channel): void {
  channel.once('close', () => {
    (channel as { __scaleoutClosed?: boolean }).__scaleoutClosed = true;
  });
}

/**
 * Publishes on `channel` and settles with the broker's answer (see the
 * module comment): resolves on an ack; rejects with `UnroutableError`,
 * `PublishRejectedError` (a nack), `ConnectionError` (the channel closed
 * first) or `InvalidArgumentError` (amqplib cannot encode it: final).
 */
export function confirmPublish(
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
          // Almost always nothing came back: no id to look up.
          if (returned === undefined || returned.size === 0) return resolve();
          const id = String(props.messageId ?? '');
          const count = returned.get(id);
          if (count === undefined) return resolve();
          if (count <= 1) returned.delete(id);
          else returned.set(id, count - 1);
          reject(new UnroutableError(`no queue bound for "${routingKey}"`));
        } else if (/nack/i.test(String((err as Error).message))) {
          reject(new PublishRejectedError('RabbitMQ refused the message (negative confirm)', { cause: err }));
        } else reject(new ConnectionError('channel closed before the broker confirmed', { cause: err }));
      });
    } catch (err) {
      // amqplib throws TypeError/RangeError for what it cannot encode (a
      // field over 255 bytes, headers over its 64 KiB buffer): final.
      if (err instanceof TypeError || err instanceof RangeError) {
        reject(
          new InvalidArgumentError(
            'RabbitMQ cannot carry this message (a property or the headers are too large)',
            { argument: 'message', cause: err },
          ),
        );
      } else reject(new ConnectionError('channel closed', { cause: err }));
    }
  });
}
