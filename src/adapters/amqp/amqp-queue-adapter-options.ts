import type { ChannelModel } from 'amqplib';
import { InvalidOptionsError } from '../../errors.js';
import { clockOption, durationOption, hasControlCharacter, optionsChecker } from '../../internal/validate.js';
import { type Backoff, fullJitterBackoff } from '../../resilience/backoff.js';
import { type Clock, type Logger, systemClock } from '../../types.js';
import { NODE_ORDERS, NodeFailover, type NodeOrder, nodeUrls } from './amqp-failover.js';
import { ADOPT_OPTION } from './amqp-queue-declaration.js';
import { QUEUE_TYPES, type QueueType } from './amqp-queue-type.js';

/**
 * Options of {@link AmqpQueueAdapter}. Give `url` or `connection`.
 *
 * @example
 * ```ts
 * const adapter = amqpQueueAdapter({
 *   url: ['amqp://app:secret@rabbit-1', 'amqp://app:secret@rabbit-2', 'amqp://app:secret@rabbit-3'],
 *   queueType: 'quorum',
 * });
 * ```
 */
export interface AmqpQueueAdapterOptions {
  /**
   * `amqp://` or `amqps://` URL, or the URLs of a cluster's nodes: the
   * adapter connects to one and, when that connection is lost, to the next
   * (see `nodeOrder`). It connects and reconnects itself.
   */
  url?: string | readonly string[];
  /**
   * Instead of `url`: a function that opens a connection (called again on
   * every reconnect), or an open amqplib connection (reused and never closed
   * by the adapter; when it dies the adapter cannot reconnect it).
   */
  connection?: ChannelModel | (() => Promise<ChannelModel>);
  /**
   * Order in which the nodes of `url` are dialled: `shuffle` (each adapter
   * its own random order, which spreads a fleet's connections over the
   * cluster) or `in-order` (the first URL first). @default 'shuffle'
   */
  nodeOrder?: NodeOrder;
  /** How long dialling one node may take (TCP connect and AMQP handshake), in ms. @default 10_000 */
  connectTimeoutMs?: number;
  /**
   * Type of the queues scaleout declares: `quorum` (replicated across the
   * cluster's nodes; the broker counts redeliveries and stops a message
   * whose consumer keeps crashing) or `classic` (one node; how queues were
   * declared before this option existed). A queue that exists with the
   * other type fails with `QueueMismatchError` (see docs/operations.md).
   * @default 'quorum'
   */
  queueType?: QueueType;
  /**
   * Quorum queues: `x-delivery-limit`, how many times the broker may take a
   * message back unsettled (its consumer's channel closed or died, its
   * node went down) before it dead-letters it itself; `false` for no limit.
   * Handler failures do not count (each retry is a new copy): this is the
   * guard against a message that crashes its consumer every time.
   * @default 20
   */
  deliveryLimit?: number | false;
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
   * How long the adapter's own `close()` waits for the deliveries its
   * consumers handed out to be settled (after cancelling them), in ms; then
   * it closes their channels and what is still unacknowledged goes back to
   * the queue. The same name and default as `MessageQueue`'s
   * `closeTimeoutMs`. `close({ signal })` can end the wait sooner.
   * @default 30_000
   */
  closeTimeoutMs?: number;
  /**
   * Use a queue that already exists with other arguments (declared by other
   * code, e.g. the design's `channel.assertQueue('order.created', { durable: true })`,
   * or of the other queue type) as it is, instead of failing with
   * `QueueMismatchError`. scaleout then binds it to its topics exchange and
   * consumes it; its retries and dead letters still work (they are
   * published by the consumer), but messages rejected by others or expired
   * reach the dead letters only if the queue has its own dead-letter
   * exchange, and durability and replication are the queue's. See
   * "Adopting existing queues" in docs/queue.md. @default false
   */
  adoptExistingQueues?: boolean;
  /** Receives connection events (URLs redacted). @default no logging */
  logger?: Logger;
  /**
   * Time source of the adapter's deadlines (how long a consumer's retry or
   * dead-letter copy is sent again after nacks: `publishTimeoutMs`).
   * @default systemClock
   */
  clock?: Clock;
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
  Required<Omit<AmqpQueueAdapterOptions, 'url' | 'connection' | 'logger' | 'clock'>>
> = {
  nodeOrder: 'shuffle',
  connectTimeoutMs: 10_000,
  queueType: 'quorum',
  deliveryLimit: 20,
  prefix: '',
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  maxBufferedPublishes: 1_000,
  publishTimeoutMs: 30_000,
  closeTimeoutMs: 30_000,
  adoptExistingQueues: false,
};

/** Highest `deliveryLimit`. */
const MAX_DELIVERY_LIMIT = 1_000_000;

/** @internal Refuses unknown keys of {@link AmqpQueueAdapterOptions}. */
export const checkOptions = optionsChecker({
  where: 'amqpQueueAdapter options',
  keys: [
    'url',
    'connection',
    'nodeOrder',
    'connectTimeoutMs',
    'queueType',
    'deliveryLimit',
    'prefix',
    'reconnectBaseMs',
    'reconnectMaxMs',
    'maxBufferedPublishes',
    'publishTimeoutMs',
    'closeTimeoutMs',
    'adoptExistingQueues',
    'logger',
    'clock',
  ],
  hints: {
    uri: 'url',
    urls: 'url',
    amqpUrl: 'url',
    hosts: 'url',
    nodes: 'url',
    client: 'connection',
    channel: 'connection',
    shuffle: 'nodeOrder',
    order: 'nodeOrder',
    timeout: 'connectTimeoutMs',
    connectTimeout: 'connectTimeoutMs',
    type: 'queueType',
    quorum: 'queueType',
    xQueueType: 'queueType',
    maxDeliveries: 'deliveryLimit',
    xDeliveryLimit: 'deliveryLimit',
    adoptExisting: ADOPT_OPTION,
    adopt: ADOPT_OPTION,
    declare: ADOPT_OPTION,
    assertQueues: ADOPT_OPTION,
    timeoutMs: 'publishTimeoutMs',
    maxBuffered: 'maxBufferedPublishes',
    closeTimeout: 'closeTimeoutMs',
    drainTimeoutMs: 'closeTimeoutMs',
  },
});

/**
 * Options of the RabbitMQ adapter's `close()`.
 *
 * @example
 * ```ts
 * await adapter.close({ signal: AbortSignal.timeout(5_000) }); // a deadline shorter than closeTimeoutMs
 * ```
 */
export interface AmqpQueueAdapterCloseOptions {
  /**
   * Ends the wait for the deliveries in flight when it aborts (before
   * `closeTimeoutMs`): the channels close at once, and the messages not
   * yet acknowledged go back to their queues.
   */
  signal?: AbortSignal;
}

/** @internal Refuses unknown keys of {@link AmqpQueueAdapterCloseOptions}. */
export const checkCloseOptions = optionsChecker({
  where: 'amqpQueueAdapter close() options',
  keys: ['signal'],
  hints: {
    timeout: 'signal',
    timeoutMs: 'signal',
    deadline: 'signal',
    deadlineMs: 'signal',
    closeTimeoutMs: 'signal',
  },
});

/** @internal How the adapter opens connections. */
export type AmqpDial =
  | { kind: 'nodes'; nodes: NodeFailover; connectTimeoutMs: number }
  | { kind: 'factory'; open: () => Promise<ChannelModel> }
  | { kind: 'given'; connection: ChannelModel };

/** @internal {@link AmqpQueueAdapterOptions}, checked and defaulted. */
export interface ResolvedAmqpOptions {
  dial: AmqpDial;
  prefix: string;
  backoff: Backoff;
  maxBuffered: number;
  publishTimeoutMs: number;
  closeTimeoutMs: number;
  adoptExisting: boolean;
  queueType: QueueType;
  deliveryLimit: number | false;
  logger: Logger | undefined;
  clock: Clock;
}

function isModel(value: unknown): value is ChannelModel {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { createConfirmChannel?: unknown }).createConfirmChannel === 'function'
  );
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionsError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, {
      option: name,
    });
  }
  return value as T;
}

function dialOption(options: AmqpQueueAdapterOptions): AmqpDial {
  const d = AMQP_QUEUE_DEFAULTS;
  const { url, connection } = options;
  if ((url === undefined) === (connection === undefined)) {
    throw new InvalidOptionsError('give exactly one of url and connection', { option: 'url' });
  }
  if (url !== undefined) {
    const urls = nodeUrls(url);
    const order = oneOf('nodeOrder', options.nodeOrder ?? d.nodeOrder, NODE_ORDERS);
    return {
      kind: 'nodes',
      nodes: new NodeFailover(urls, order),
      connectTimeoutMs: durationOption('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs),
    };
  }
  for (const key of ['nodeOrder', 'connectTimeoutMs'] as const) {
    if (options[key] !== undefined) {
      throw new InvalidOptionsError(`${key} applies to url only (connection dials by itself)`, {
        option: key,
      });
    }
  }
  if (typeof connection === 'function') return { kind: 'factory', open: connection };
  if (isModel(connection)) return { kind: 'given', connection };
  throw new InvalidOptionsError('connection must be an amqplib connection or a function returning one', {
    option: 'connection',
  });
}

/** @internal Checks `options` (typed errors naming the option, URLs redacted) and fills in the defaults. */
export function resolveAmqpOptions(options: AmqpQueueAdapterOptions): ResolvedAmqpOptions {
  const d = AMQP_QUEUE_DEFAULTS;
  if (typeof options === 'string' || Array.isArray(options)) {
    throw new InvalidOptionsError('amqpQueueAdapter takes an options object: pass { url: <amqp:// URL> }', {
      option: 'url',
    });
  }
  checkOptions(options);
  if (options === undefined) {
    throw new InvalidOptionsError('options must be an object with url or connection', { option: 'url' });
  }
  const dial = dialOption(options);
  const prefix = options.prefix ?? d.prefix;
  if (
    typeof prefix !== 'string' ||
    prefix.length > 100 ||
    Buffer.byteLength(prefix, 'utf8') > 200 ||
    hasControlCharacter(prefix) ||
    prefix.startsWith('amq.')
  ) {
    throw new InvalidOptionsError(
      'prefix must be a string of at most 100 characters (200 bytes), without control characters, not starting with "amq."',
      { option: 'prefix' },
    );
  }
  const baseMs = durationOption('reconnectBaseMs', options.reconnectBaseMs ?? d.reconnectBaseMs, 1);
  const maxMs = durationOption('reconnectMaxMs', options.reconnectMaxMs ?? d.reconnectMaxMs, 1);
  if (maxMs < baseMs) {
    throw new InvalidOptionsError('reconnectMaxMs must be >= reconnectBaseMs', { option: 'reconnectMaxMs' });
  }
  const maxBuffered = options.maxBufferedPublishes ?? d.maxBufferedPublishes;
  if (!Number.isInteger(maxBuffered) || maxBuffered < 0) {
    throw new InvalidOptionsError('maxBufferedPublishes must be an integer >= 0', {
      option: 'maxBufferedPublishes',
    });
  }
  const adopt = options.adoptExistingQueues ?? d.adoptExistingQueues;
  if (typeof adopt !== 'boolean') {
    throw new InvalidOptionsError(`${ADOPT_OPTION} must be a boolean`, { option: ADOPT_OPTION });
  }
  const queueType = oneOf('queueType', options.queueType ?? d.queueType, QUEUE_TYPES);
  const deliveryLimit = options.deliveryLimit ?? d.deliveryLimit;
  if (
    deliveryLimit !== false &&
    (typeof deliveryLimit !== 'number' ||
      !Number.isInteger(deliveryLimit) ||
      deliveryLimit < 1 ||
      deliveryLimit > MAX_DELIVERY_LIMIT)
  ) {
    throw new InvalidOptionsError(`deliveryLimit must be an integer in [1, ${MAX_DELIVERY_LIMIT}] or false`, {
      option: 'deliveryLimit',
    });
  }
  if (options.deliveryLimit !== undefined && queueType === 'classic') {
    throw new InvalidOptionsError(
      'deliveryLimit applies to quorum queues only (classic queues do not count deliveries)',
      { option: 'deliveryLimit' },
    );
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
    throw new InvalidOptionsError('logger must be an object with warn()/error() methods', {
      option: 'logger',
    });
  }
  clockOption(options.clock);
  return {
    dial,
    prefix,
    backoff: fullJitterBackoff({ baseMs, maxMs }),
    maxBuffered,
    publishTimeoutMs: durationOption('publishTimeoutMs', options.publishTimeoutMs ?? d.publishTimeoutMs),
    closeTimeoutMs: durationOption('closeTimeoutMs', options.closeTimeoutMs ?? d.closeTimeoutMs, 0),
    adoptExisting: adopt,
    queueType,
    deliveryLimit,
    logger: options.logger,
    clock: options.clock ?? systemClock,
  };
}
