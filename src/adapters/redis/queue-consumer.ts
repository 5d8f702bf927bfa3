import type { QueueAdapterConsumeOptions, QueueDelivery } from '../../contracts/queue.js';
import type { Clock, Logger } from '../../types.js';
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
 *
 * A graceful stop runs in two phases: `stopDelivering()` ends reading (a
 * read blocked on the server is unblocked; what it returned is still
 * delivered, so nothing is left read but not started), then, once the
 * consumer has settled its deliveries, `unsubscribe()` closes the reader
 * and hands back whatever is still held (handlers that overran the close
 * timeout).
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
  /**
   * False once `stopDelivering()` was called: no read or claim starts any
   * more; held entries are still refreshed until they are settled.
   */
  reading: boolean;
  /** Resolved when the loop has stopped reading (or ended). */
  readsStopped: Promise<void>;
  /** Resolves {@link readsStopped}. */
  markReadsStopped: () => void;
  /**
   * The reader connection's `CLIENT ID` (standalone Redis), so that a stop
   * can end its blocked read at once (`CLIENT UNBLOCK`); -1 when unknown
   * (a Cluster, or CLIENT not allowed), undefined until asked.
   */
  readerId: number | undefined;
  /** Called once `held` is empty: the adapter's `close()` waits for it ({@link nothingHeld}). */
  drained: Array<() => void>;
}

/** Resolves once consumer `c` holds no entry (at once if it holds none). */
export function nothingHeld(c: StreamConsumer): Promise<void> {
  if (c.held.size === 0) return Promise.resolve();
  return new Promise((resolve) => c.drained.push(resolve));
}

/** Gives back the prefetch slot of entry `entryId`: wakes the read loop, and a close waiting for none held. */
export function releaseHeld(c: StreamConsumer, entryId: string): void {
  c.held.delete(entryId);
  c.wake?.();
  if (c.held.size === 0 && c.drained.length > 0) {
    const drained = c.drained;
    c.drained = [];
    for (const resolve of drained) resolve();
  }
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
  /** Paces the sweeps (its `monotonic()`). */
  readonly clock: Clock;
  /** Whether the adapter is closed. */
  readonly closed: boolean;
  /** Aborted when the adapter closes. */
  readonly stopSignal: AbortSignal;
  /** Every open consumer of the adapter. */
  readonly consumers: Set<StreamConsumer>;
}
