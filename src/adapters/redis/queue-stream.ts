import { CorruptDataError } from '../../errors.js';
import type { RedisClient } from './connection.js';

/**
 * @internal The streams of the Redis Streams queue adapter: one stream per
 * topic (`<prefix><topic>`), its consumer groups (created once, recreated
 * when Redis lost them), and appends trimmed to about `maxLength` entries
 * (`XADD MAXLEN ~`: the oldest entries go, even if a group has not read them).
 */

/**
 * One stream entry as `XREADGROUP`/`XAUTOCLAIM` return it, read as bytes
 * (`callBuffer`: fields are decoded strictly, see queue-entry.ts); fields
 * null once deleted.
 */
export type StreamEntry = [id: Buffer, fields: Buffer[] | null];

/** Whether `err` is a Redis error reply starting with `code` (`BUSYGROUP`, `NOGROUP`...). */
export function isError(err: unknown, code: string): boolean {
  return err instanceof Error && err.message.startsWith(code);
}

/**
 * The stream keys, groups and trimmed appends of one adapter.
 *
 * @example
 * ```ts
 * const streams = new QueueStreams(() => redis, 'scaleout:queue:', 1_000_000);
 * await streams.ensureGroup(streams.key('orders'), 'default', '0');
 * ```
 */
export class QueueStreams {
  readonly #client: () => RedisClient;
  readonly #prefix: string;
  readonly #maxLength: number;
  readonly #groupsReady = new Set<string>();

  constructor(client: () => RedisClient, prefix: string, maxLength: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#maxLength = maxLength;
  }

  /** The stream key of `topic`. */
  key(topic: string): string {
    return `${this.#prefix}${topic}`;
  }

  /** Creates `group` on the stream at `key` (and the stream), once per adapter. */
  async ensureGroup(key: string, group: string, from: '0' | '$'): Promise<void> {
    const id = `${key}\u0000${group}`;
    if (this.#groupsReady.has(id)) return;
    try {
      await this.#client().call('XGROUP', 'CREATE', key, group, from, 'MKSTREAM');
    } catch (err) {
      if (!isError(err, 'BUSYGROUP')) throw err;
    }
    this.#groupsReady.add(id);
  }

  /** Forgets that `group` exists (Redis lost it): the next `ensureGroup` creates it again. */
  forgetGroup(key: string, group: string): void {
    this.#groupsReady.delete(`${key}\u0000${group}`);
  }

  /**
   * Appends an entry, trimming the stream to about `maxLength` entries. A
   * stream whose last entry id is the largest possible (another program
   * added it) takes no more: `CorruptDataError` naming the key, not an
   * outage.
   */
  async append(key: string, fields: string[]): Promise<void> {
    try {
      await this.#client().call('XADD', key, 'MAXLEN', '~', String(this.#maxLength), '*', ...fields);
    } catch (err) {
      if (isError(err, 'ERR The stream has exhausted the last possible ID')) {
        throw new CorruptDataError(
          `the stream at "${key}" holds the largest possible entry id (written by another program): it takes no more entries`,
          { key, cause: err },
        );
      }
      throw err;
    }
  }
}
