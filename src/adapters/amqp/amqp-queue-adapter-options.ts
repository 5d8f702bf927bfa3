import type { ChannelModel } from 'amqplib';
import { optionsChecker } from '../../internal/validate.js';
import type { Logger } from '../../types.js';
import { ADOPT_OPTION } from './amqp-queue-declaration.js';

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
  /**
   * Use a queue that already exists with other arguments (declared by other
   * code, e.g. the design's `channel.assertQueue('order.created', { durable: true })`,
   * or a quorum queue) as it is, instead of failing with
   * `QueueMismatchError`. scaleout then binds it to its topics exchange and
   * consumes it; its retries and dead letters still work (they are
   * published by the consumer), but messages rejected by others or expired
   * reach the dead letters only if the queue has its own dead-letter
   * exchange, and durability is the queue's. See "Adopting existing queues"
   * in docs/queue.md. @default false
   */
  adoptExistingQueues?: boolean;
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
  adoptExistingQueues: false,
};

/** @internal Refuses unknown keys of {@link AmqpQueueAdapterOptions}. */
export const checkOptions = optionsChecker({
  where: 'amqpQueueAdapter options',
  keys: [
    'url',
    'connection',
    'prefix',
    'reconnectBaseMs',
    'reconnectMaxMs',
    'maxBufferedPublishes',
    'publishTimeoutMs',
    'adoptExistingQueues',
    'logger',
  ],
  hints: {
    uri: 'url',
    amqpUrl: 'url',
    client: 'connection',
    channel: 'connection',
    adoptExisting: ADOPT_OPTION,
    adopt: ADOPT_OPTION,
    declare: ADOPT_OPTION,
    assertQueues: ADOPT_OPTION,
    timeoutMs: 'publishTimeoutMs',
    maxBuffered: 'maxBufferedPublishes',
  },
});
