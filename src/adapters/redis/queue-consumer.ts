import type { QueueAdapterConsumeOptions, QueueDelivery } from '../../contracts/queue.js';
import type { Logger } from '../../types.js';
import type { RedisClient } from './connection.js';
import type { QueueStreams } from './queue-stream.js';

/**
 * @internal One consumer of the Redis Streams queue adapter, and what its
 * parts (reader, claimer, delivery) share with the adapter.
 *
 * A consumer reads with a blocking `XREADGROUP` on a connection of its own
 * (queue-reader.ts), holds at most `prefetch` entries at once (`held`),
 * refreshes and reclaims entries in a periodic sweep (queue-claimer.ts) and
 * settles each entry through its delivery (queue-delivery.ts).
 */

/** The state of one consumer. */
export interface StreamConsumer {
  topic: string;
  key: string;
  options: QueueAdapterConsumeOptions;
  onDelivery: (delivery: QueueDelivery) => void;
  /** Entry ids delivered and not settled yet: the prefetch window. */
  held: Set<string>;
  reader: RedisClient;
  open: boolean;
  /** Wakes a read loop that waits for a free prefetch slot. */
  wake: (() => void) | undefined;
  /** Sweep before the next read (a retry or a hand-back just made entries idle). */
  sweepNow: boolean;
  loop: Promise<void> | undefined;
  /** Aborted when the consumer closes: a read in flight stops being awaited. */
  stop: AbortController;
}

/** What the consumers of one adapter share with it. */
export interface StreamsContext {
  /** The adapter's command connection (not a consumer's blocking one). */
  readonly client: RedisClient;
  readonly streams: QueueStreams;
  readonly consumerName: string;
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly sweepIntervalMs: number;
  readonly logger: Logger | undefined;
  /** Whether the adapter is closed. */
  readonly closed: boolean;
  /** Aborted when the adapter closes. */
  readonly stopSignal: AbortSignal;
  /** Every open consumer of the adapter. */
  readonly consumers: Set<StreamConsumer>;
}
