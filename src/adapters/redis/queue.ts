import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueDelivery,
  QueueOutgoingMessage,
  QueueSubscription,
} from '../../contracts/queue.js';
import { ClosedError, InvalidOptionsError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../../internal/abort.js';
import { sleep } from '../../internal/timers.js';
import { durationOption, optionsChecker } from '../../internal/validate.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import { fullJitterBackoff } from '../../resilience/backoff.js';
import type { Logger } from '../../types.js';
import { type RedisClient, type RedisConnection, RedisConnectionHandle, redisFailure } from './connection.js';
import { validatePrefix } from './keys.js';
import { readStreamEntry, streamFields } from './queue-entry.js';

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
  /** Receives read-loop failures. @default no logging */
  logger?: Logger;
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
};

const checkOptions = optionsChecker({
  where: 'redisStreamsQueueAdapter options',
  keys: [
    'connection',
    'prefix',
    'consumerName',
    'blockMs',
    'claimIdleMs',
    'sweepIntervalMs',
    'maxLength',
    'logger',
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
  },
});

type StreamEntry = [id: string, fields: string[] | null];

interface StreamConsumer {
  topic: string;
  key: string;
  options: QueueAdapterConsumeOptions;
  onDelivery: (delivery: QueueDelivery) => void;
  held: Set<string>;
  reader: RedisClient;
  open: boolean;
  wake: (() => void) | undefined;
  sweepNow: boolean;
  loop: Promise<void> | undefined;
  /** Aborted when the consumer closes: a read in flight stops being awaited. */
  stop: AbortController;
}

function isError(err: unknown, code: string): boolean {
  return err instanceof Error && err.message.startsWith(code);
}

/**
 * The ioredis `commandTimeout` of a client (a Cluster's is in its
 * `redisOptions`), if one is set. It applies to blocking reads too.
 */
function commandTimeoutOf(client: RedisClient): number | undefined {
  const options = (
    client as { options?: { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } } }
  ).options;
  const timeout = options?.commandTimeout ?? options?.redisOptions?.commandTimeout;
  return typeof timeout === 'number' && timeout > 0 ? timeout : undefined;
}

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
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  readonly #consumerName: string;
  readonly #blockMs: number;
  readonly #claimIdleMs: number;
  readonly #sweepIntervalMs: number;
  readonly #maxLength: number;
  readonly #logger: Logger | undefined;
  readonly #groupsReady = new Set<string>();
  readonly #consumers = new Set<StreamConsumer>();
  readonly #stop = new AbortController();
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
    this.#prefix = validatePrefix(options.prefix ?? d.prefix);
    this.#blockMs = durationOption('blockMs', options.blockMs ?? d.blockMs, 1);
    this.#claimIdleMs = durationOption('claimIdleMs', options.claimIdleMs ?? d.claimIdleMs, 10);
    this.#sweepIntervalMs = durationOption(
      'sweepIntervalMs',
      options.sweepIntervalMs ?? d.sweepIntervalMs,
      1,
    );
    const maxLength = options.maxLength ?? d.maxLength;
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new InvalidOptionsError('maxLength must be a positive integer', { option: 'maxLength' });
    }
    this.#maxLength = maxLength;
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
    this.#handle = new RedisConnectionHandle(options.connection);
    if (this.#handle.owned) {
      // Ours: report its errors to the logger (ioredis prints unhandled ones).
      this.#handle.client.on('error', (err: Error) => {
        this.#logger?.warn?.('Redis connection error', { error: err.message });
      });
    }
  }

  #key(topic: string): string {
    return `${this.#prefix}${topic}`;
  }

  get #client(): RedisClient {
    return this.#handle.client;
  }

  async #ensureGroup(key: string, group: string, from: '0' | '$'): Promise<void> {
    const id = `${key}\u0000${group}`;
    if (this.#groupsReady.has(id)) return;
    try {
      await this.#client.call('XGROUP', 'CREATE', key, group, from, 'MKSTREAM');
    } catch (err) {
      if (!isError(err, 'BUSYGROUP')) throw err;
    }
    this.#groupsReady.add(id);
  }

  async #append(key: string, fields: string[]): Promise<void> {
    await this.#client.call('XADD', key, 'MAXLEN', '~', String(this.#maxLength), '*', ...fields);
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
    const key = this.#key(topic);
    const stored = (async () => {
      try {
        await this.#ensureGroup(key, 'default', '0');
        await this.#append(key, streamFields(message));
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
   */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<QueueSubscription> {
    checkAdapterConsume(topic, onDelivery, options);
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    const key = this.#key(topic);
    try {
      await this.#ensureGroup(key, options.group, options.group === 'default' ? '0' : '$');
    } catch (err) {
      throw redisFailure('Redis Streams consume', err, key);
    }
    if (options.deadLetterTopic !== undefined) {
      const deadKey = this.#key(options.deadLetterTopic);
      try {
        await this.#ensureGroup(deadKey, 'default', '0');
      } catch (err) {
        throw redisFailure('Redis Streams consume', err, deadKey);
      }
    }
    const reader = this.#handle.duplicate();
    reader.on('error', () => {});
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
    };
    this.#consumers.add(consumer);
    consumer.loop = this.#run(consumer);
    return { close: () => this.#closeConsumer(consumer) };
  }

  async #run(c: StreamConsumer): Promise<void> {
    const backoff = fullJitterBackoff({ baseMs: 50, maxMs: 2_000 });
    // A blocking read must end well within the client's commandTimeout: a
    // read that timed out on the client still takes messages on the server,
    // which then wait in the pending list until reclaimed (`claimIdleMs`).
    const timeout = commandTimeoutOf(c.reader);
    const block = Math.min(
      this.#blockMs,
      this.#sweepIntervalMs,
      timeout === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(timeout / 2)),
    );
    let failures = 0;
    let lastSweep = 0;
    while (c.open && !this.#closed) {
      try {
        const now = Date.now();
        if (c.sweepNow || now - lastSweep >= this.#sweepIntervalMs) {
          c.sweepNow = false;
          lastSweep = now;
          await this.#sweep(c);
        }
        if (c.held.size >= c.options.prefetch) {
          // Full: wait for a slot, but wake for the next sweep (it refreshes held messages).
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.#sweepIntervalMs);
            timer.unref();
            c.wake = () => {
              clearTimeout(timer);
              resolve();
            };
            if (!c.open) c.wake();
          });
          c.wake = undefined;
          continue;
        }
        const room = c.options.prefetch - c.held.size;
        // Raced against close: after disconnect() an ioredis Cluster can park a
        // command in its offline queue for good (a retry scheduled before the
        // disconnect finds no node), and close() must not wait for it.
        const read = c.reader.call(
          'XREADGROUP',
          'GROUP',
          c.options.group,
          this.#consumerName,
          'COUNT',
          String(room),
          'BLOCK',
          String(block),
          'STREAMS',
          c.key,
          '>',
        ) as Promise<Array<[string, StreamEntry[]]> | null>;
        const reply = await raceAbort(read, c.stop.signal);
        failures = 0;
        if (reply === null || !c.open) continue;
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            if (fields !== null) this.#deliver(c, id, fields, 1);
          }
        }
      } catch (err) {
        if (!c.open || this.#closed) return;
        if (isError(err, 'NOGROUP') || isError(err, 'UNBLOCKED')) {
          // The group vanished (Redis restarted without its data, or the
          // stream was deleted under a blocked read): recreate it.
          this.#groupsReady.delete(`${c.key}\u0000${c.options.group}`);
          await this.#ensureGroup(c.key, c.options.group, '0').catch(() => {});
          continue;
        }
        // Reported (a key of another type is a CorruptDataError, not an
        // outage) and retried with backoff: the consumer never stops.
        const failure = redisFailure('Redis Streams read', err, c.key);
        this.#logger?.warn?.('Redis Streams read failed; retrying', {
          topic: c.topic,
          error: err instanceof Error ? err.message : String(err),
        });
        try {
          c.options.onError?.(failure);
        } catch {
          // A listener's failure must not stop the read loop.
        }
        await sleep(backoff(failures++), { signal: this.#stop.signal, unref: true }).catch(() => {});
      }
    }
  }

  /** Refreshes held messages and claims idle ones (from dead consumers, or released by retry()). */
  async #sweep(c: StreamConsumer): Promise<void> {
    const client = this.#client;
    if (c.held.size > 0) {
      // Alive and still working on these: reset their idle time.
      await client.call('XCLAIM', c.key, c.options.group, this.#consumerName, '0', ...c.held, 'JUSTID');
    }
    let cursor = '0-0';
    for (let rounds = 0; rounds < 10; rounds++) {
      const room = c.options.prefetch - c.held.size;
      if (room <= 0 || !c.open) return;
      const [next, entries] = (await client.call(
        'XAUTOCLAIM',
        c.key,
        c.options.group,
        this.#consumerName,
        String(this.#claimIdleMs),
        cursor,
        'COUNT',
        String(room),
      )) as [string, StreamEntry[], string[]?];
      const claimed = entries.filter((e): e is [string, string[]] => e !== null && e[1] !== null);
      if (claimed.length > 0) {
        const counts = await this.#pendingCounts(
          c,
          claimed.map(([id]) => id),
        );
        for (const [id, fields] of claimed) {
          if (!c.open) break;
          this.#deliver(c, id, fields, counts.get(id) ?? 2);
        }
      }
      if (next === '0-0') return;
      cursor = next;
    }
  }

  async #pendingCounts(c: StreamConsumer, ids: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const first = ids[0]!;
    const last = ids[ids.length - 1]!;
    const rows = (await this.#client.call(
      'XPENDING',
      c.key,
      c.options.group,
      first,
      last,
      String(ids.length + 100),
      this.#consumerName,
    )) as Array<[string, string, number, number]>;
    for (const [id, , , count] of rows) counts.set(id, Number(count));
    return counts;
  }

  #deliver(c: StreamConsumer, entryId: string, fields: string[], pelCount: number): void {
    if (c.held.has(entryId)) return;
    c.held.add(entryId);
    // Read as strictly as written: an entry another program wrote is flagged
    // malformed (the consumer dead-letters it) and its fields kept verbatim.
    const { id, body, headers, timestamp, malformed } = readStreamEntry(entryId, fields);
    let settled = false;
    const release = () => {
      c.held.delete(entryId);
      c.wake?.();
    };
    // Runs a settling command, then gives the prefetch slot back whatever
    // happened. If the command failed, the message stays pending but is no
    // longer refreshed by the sweep, so it is reclaimed after `claimIdleMs`
    // and delivered again (at least once), instead of being held forever.
    const settle = async (operation: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        throw redisFailure(`Redis Streams ${operation}`, err, c.key);
      } finally {
        release();
      }
    };
    const ack = () => this.#client.call('XACK', c.key, c.options.group, entryId);
    c.onDelivery({
      id,
      topic: c.topic,
      body,
      headers,
      // The broker's own count (the pending-entries list): retries leave the
      // entry pending, so no header is trusted (an x-scaleout-failures header
      // on an entry was written by someone else).
      deliveryCount: pelCount,
      publishedAt: timestamp,
      malformed,
      ack: async () => {
        if (settled) return;
        settled = true;
        await settle('ack', ack);
      },
      retry: async () => {
        if (settled) return;
        settled = true;
        // Stays pending; marked idle so that the next sweep delivers it again
        // (XAUTOCLAIM raises its delivery count).
        await settle('retry', () =>
          this.#client.call(
            'XCLAIM',
            c.key,
            c.options.group,
            this.#consumerName,
            '0',
            entryId,
            'IDLE',
            String(this.#claimIdleMs + 1),
            'JUSTID',
          ),
        );
        c.sweepNow = true;
      },
      deadLetter: async (extra) => {
        if (settled) return;
        settled = true;
        await settle('dead-letter', async () => {
          const dead = c.options.deadLetterTopic;
          if (dead !== undefined) {
            const deadKey = this.#key(dead);
            const fields = streamFields({ id, body, headers: { ...headers, ...extra }, timestamp });
            await this.#append(deadKey, fields).catch((err: unknown) => {
              throw redisFailure('Redis Streams dead-letter', err, deadKey);
            });
          }
          await ack();
        });
      },
    });
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
      await this.#client
        .call(
          'XCLAIM',
          c.key,
          c.options.group,
          this.#consumerName,
          '0',
          ...c.held,
          'IDLE',
          String(this.#claimIdleMs + 1),
          'JUSTID',
        )
        .catch(() => {});
      for (const other of this.#consumers) if (other.key === c.key) other.sweepNow = true;
    }
    c.held.clear();
  }

  /** Stops every consumer and closes the connections the adapter created. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const c of [...this.#consumers]) await this.#closeConsumer(c);
    this.#closed = true;
    this.#stop.abort();
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
