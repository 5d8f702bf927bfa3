import { optionsChecker } from '../../internal/validate.js';
import { type Clock, type Logger, systemClock } from '../../types.js';
import type { RedisConnection } from './connection.js';

/**
 * Options of {@link RedisStreamsQueueAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisStreamsQueueAdapter({ connection: redis, prefix: 'shop:queue:', claimIdleMs: 60_000 });
 * ```
 */
export interface RedisStreamsQueueAdapterOptions {
  /** An ioredis client (reused, not closed), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every stream key. @default 'scaleout:queue:' */
  prefix?: string;
  /** Name of this process's consumers within their groups. @default `<hostname>:<pid>:<random>` */
  consumerName?: string;
  /**
   * How long one blocking read waits for new messages, in ms; capped at
   * `sweepIntervalMs` and at half the client's ioredis `commandTimeout`.
   * @default 2_000
   */
  blockMs?: number;
  /**
   * A message held this long by a consumer that stopped answering is
   * reclaimed by another one, in ms. Live consumers refresh the messages
   * they hold, so a slow handler is not reclaimed. @default 30_000
   */
  claimIdleMs?: number;
  /** How often each consumer sweeps for messages to reclaim, in ms. @default 1_000 */
  sweepIntervalMs?: number;
  /**
   * Approximate cap on a stream's length (`XADD MAXLEN ~`). Trimming drops
   * the oldest entries even if a group has not read them: size it well
   * above the largest backlog you expect. @default 1_000_000
   */
  maxLength?: number;
  /**
   * How long the adapter's own `close()` waits for the messages its
   * consumers handed out to be settled (after they stopped reading), in
   * ms; then what is still held is handed back (marked idle) for another
   * consumer. The same name and default as `MessageQueue`'s
   * `closeTimeoutMs`. `close({ signal })` can end the wait sooner.
   * @default 30_000
   */
  closeTimeoutMs?: number;
  /** Receives read-loop failures. @default no logging */
  logger?: Logger;
  /** Time source: each consumer's sweep is due `sweepIntervalMs` after the last on `clock.monotonic()`. @default systemClock */
  clock?: Clock;
}

/**
 * The defaults of {@link RedisStreamsQueueAdapterOptions}.
 *
 * @example
 * ```ts
 * redisStreamsQueueAdapter({ connection, claimIdleMs: REDIS_STREAMS_QUEUE_DEFAULTS.claimIdleMs * 4 });
 * ```
 */
export const REDIS_STREAMS_QUEUE_DEFAULTS: Readonly<
  Required<Omit<RedisStreamsQueueAdapterOptions, 'connection' | 'consumerName' | 'logger'>>
> = {
  prefix: 'scaleout:queue:',
  blockMs: 2_000,
  claimIdleMs: 30_000,
  sweepIntervalMs: 1_000,
  maxLength: 1_000_000,
  closeTimeoutMs: 30_000,
  clock: systemClock,
};

/** @internal Refuses unknown keys of {@link RedisStreamsQueueAdapterOptions}. */
export const checkOptions = optionsChecker({
  where: 'redisStreamsQueueAdapter options',
  keys: [
    'connection',
    'prefix',
    'consumerName',
    'blockMs',
    'claimIdleMs',
    'sweepIntervalMs',
    'maxLength',
    'closeTimeoutMs',
    'logger',
    'clock',
  ],
  hints: {
    client: 'connection',
    redis: 'connection',
    url: 'connection',
    maxLen: 'maxLength',
    maxlen: 'maxLength',
    claimIdle: 'claimIdleMs',
    visibilityTimeout: 'claimIdleMs',
    visibilityTimeoutMs: 'claimIdleMs',
    consumer: 'consumerName',
    closeTimeout: 'closeTimeoutMs',
    drainTimeoutMs: 'closeTimeoutMs',
    now: 'clock',
  },
});

/**
 * Options of the Redis Streams adapter's `close()`.
 *
 * @example
 * ```ts
 * await adapter.close({ signal: AbortSignal.timeout(5_000) }); // a deadline shorter than closeTimeoutMs
 * ```
 */
export interface RedisStreamsQueueAdapterCloseOptions {
  /**
   * Ends the wait for the messages in flight when it aborts (before
   * `closeTimeoutMs`): what is still held is handed back for another
   * consumer at once.
   */
  signal?: AbortSignal;
}

/** @internal Refuses unknown keys of {@link RedisStreamsQueueAdapterCloseOptions}. */
export const checkCloseOptions = optionsChecker({
  where: 'redisStreamsQueueAdapter close() options',
  keys: ['signal'],
  hints: { timeout: 'signal', timeoutMs: 'signal', deadline: 'signal', closeTimeoutMs: 'signal' },
});
