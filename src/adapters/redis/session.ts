import type {
  SessionAdapter,
  SessionMoveResult,
  SessionRecord,
  SessionTouchOptions,
  SessionUpdateInput,
  SessionUpdateResult,
} from '../../contracts/session.js';
import { CorruptDataError, InvalidOptionsError } from '../../errors.js';
import { clockOption, MAX_DURATION_MS, optionsChecker } from '../../internal/validate.js';
import {
  checkAdapterInput,
  checkUpdateInput,
  isAdapterSessionId,
  touchTtl,
} from '../../session/session-record.js';
import { type Clock, systemClock } from '../../types.js';
import {
  isCluster,
  isRedisDataError,
  type RedisConnection,
  RedisConnectionHandle,
  redisFailure,
} from './connection.js';
import { validatePrefix } from './keys.js';
import {
  createScript,
  destroyAllScript,
  destroyOwnedScript,
  destroyScript,
  indexAddScript,
  markIndexScript,
  moveScript,
  putScript,
  takeScript,
  touchScript,
  updateScript,
} from './session-scripts.js';

/**
 * Options of {@link RedisSessionAdapter}.
 *
 * @example
 * ```ts
 * const options: RedisSessionAdapterOptions = { connection: 'redis://127.0.0.1:6379', prefix: 'app:sess:' };
 * ```
 */
export interface RedisSessionAdapterOptions {
  /** An ioredis `Redis`/`Cluster` (reused, never closed), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every key. @default 'scaleout:session:' */
  prefix?: string;
  /**
   * Time source of the per-user index's deadline (its `now()`, recorded in
   * each session to decide when the index must be extended). Session
   * expiry itself is Redis's (`PEXPIRE`). @default systemClock
   */
  clock?: Clock;
}

const DEFAULTS = { prefix: 'scaleout:session:', clock: systemClock } as const;

const checkOptions = optionsChecker({
  where: 'redisSessionAdapter options',
  keys: ['connection', 'prefix', 'clock'],
  hints: { client: 'connection', redis: 'connection', url: 'connection', keyPrefix: 'prefix', now: 'clock' },
});

const VERSION = /^[1-9][0-9]{0,14}$/;
const TTL = /^[1-9][0-9]{0,10}$/;

/**
 * Sessions in Redis through ioredis. One round trip per `get`, `touch` and
 * `update` (a Lua script called by SHA); the per-user index is a set whose
 * lifetime follows the user's longest session, extended at most once per
 * session TTL. Every script touches a single key, so the adapter runs
 * unchanged on Redis Cluster.
 *
 * Keys: `<prefix>s:<id>` (a hash) and `<prefix>u:<userId>` (a set).
 *
 * Records are validated on read as strictly as they are written: a key of
 * another Redis type, or a hash with a field missing or not a number where
 * one is expected, throws `CorruptDataError` (`ERR_CORRUPT_DATA`, naming the
 * key) before anything is written; it is never reported as an outage. A
 * hash holding none of the session fields reads as no session.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const sessions = new SessionStore({ adapter: new RedisSessionAdapter({ connection: new Redis() }) });
 * ```
 */
export class RedisSessionAdapter implements SessionAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  readonly #clock: Clock;

  constructor(options: RedisSessionAdapterOptions) {
    checkOptions(options);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options with a connection are required', { option: 'connection' });
    }
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
    clockOption(options.clock);
    this.#clock = options.clock ?? DEFAULTS.clock;
    this.#handle = new RedisConnectionHandle(options.connection);
  }

  #sessionKey(id: string): string {
    return `${this.#prefix}s:${id}`;
  }

  #indexKey(userId: string): string {
    return `${this.#prefix}u:${userId}`;
  }

  /** Runs one Redis step; a data reply is CorruptDataError naming `key`, anything else ConnectionError. */
  async #step<R>(what: string, key: string, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (err) {
      throw redisFailure(`session ${what}`, err, key);
    }
  }

  async create(input: {
    id: string;
    data: string;
    userId: string | undefined;
    ttlMs: number;
  }): Promise<boolean> {
    checkAdapterInput(input);
    const client = this.#handle.client;
    const key = this.#sessionKey(input.id);
    const indexTtl = 2 * input.ttlMs;
    const created = this.#step('create', key, () =>
      createScript.run(
        client,
        [key],
        [input.data, input.userId ?? '', input.ttlMs, this.#clock.now() + indexTtl],
      ),
    );
    if (input.userId === undefined) return (await created) === 1;
    // Indexing first (in the same flight) means a session can never exist
    // without its index entry; a stray entry for a lost race is harmless.
    const indexKey = this.#indexKey(input.userId);
    const indexed = this.#step('create', indexKey, () =>
      indexAddScript.run(client, [indexKey], [input.id, indexTtl]),
    );
    const [made, index] = await Promise.allSettled([created, indexed]);
    if (index.status === 'rejected') {
      // The session cannot be indexed (the user's index key holds another
      // type): a session that destroyAllForUser could not end is not
      // created at all.
      if (made.status === 'fulfilled' && made.value === 1) {
        await client.unlink(key).catch(() => {});
      }
      throw index.reason;
    }
    if (made.status === 'rejected') throw made.reason;
    return made.value === 1;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    checkAdapterInput({ id });
    const key = this.#sessionKey(id);
    let fields: Array<string | null>;
    try {
      fields = await this.#handle.client.hmget(key, 'd', 'v', 'u', 't');
    } catch (err) {
      throw redisFailure('session get', err, key);
    }
    const [data, version, userId, ttl] = fields;
    if (data == null && version == null && userId == null && ttl == null) return undefined;
    return this.#record(key, [data, version, userId, ttl]);
  }

  async touch(id: string, options?: SessionTouchOptions): Promise<SessionRecord | undefined> {
    const ttlMs = touchTtl(id, options);
    const key = this.#sessionKey(id);
    let reply: [string, string, string, string, number] | null;
    try {
      reply = (await touchScript.run(
        this.#handle.client,
        [key],
        [this.#clock.now(), ttlMs === undefined ? '' : String(ttlMs)],
      )) as typeof reply;
    } catch (err) {
      throw redisFailure('session touch', err, key);
    }
    if (reply === null) return undefined;
    const record = this.#record(key, reply);
    // Throws when the index cannot be extended (it holds another type):
    // touch is what every request does, so the damage is reported at once.
    if (reply[4] > 0 && record.userId !== undefined) {
      await this.#extendIndex(key, record.userId, id, record.ttlMs, reply[4]);
    }
    return record;
  }

  async update(input: SessionUpdateInput): Promise<SessionUpdateResult> {
    checkUpdateInput(input);
    const { ttlMs } = input;
    const key = this.#sessionKey(input.id);
    const reply = (await this.#step('update', key, () =>
      updateScript.run(
        this.#handle.client,
        [key],
        [
          String(input.expectedVersion),
          input.data,
          this.#clock.now(),
          ttlMs === undefined ? '' : String(ttlMs),
        ],
      ),
    )) as [number, ...Array<string | number>];
    if (reply[0] === 0) return { status: 'missing' };
    if (reply[0] === -1) {
      const [, data, version, userId, ttl] = reply as [number, string, string, string, string];
      return { status: 'conflict', current: this.#record(key, [data, version, userId, ttl]) };
    }
    const [, version, userId, ttl, extend] = reply as [number, string, string, string, number];
    const record = this.#record(key, [input.data, version, userId, ttl]);
    if (extend > 0 && record.userId !== undefined) {
      // The write has landed: never report it as failed (a merge caller
      // would apply its change twice). The deadline is recorded only once
      // the index is extended, so the next touch retries (and reports a
      // damaged index).
      await this.#extendIndex(key, record.userId, input.id, record.ttlMs, extend).catch(() => {});
    }
    return { status: 'ok', record };
  }

  async destroy(id: string): Promise<boolean> {
    checkAdapterInput({ id });
    const key = this.#sessionKey(id);
    const userId = (await this.#step('destroy', key, () => destroyScript.run(this.#handle.client, [key]))) as
      | string
      | null;
    if (userId === null) return false;
    if (userId !== '') {
      const indexKey = this.#indexKey(userId);
      // The session is gone; a stray id in an index that holds another
      // type is reported by the next create/touch/destroyAllForUser.
      await this.#step('destroy', indexKey, () => this.#handle.client.srem(indexKey, id)).catch(
        (err: unknown) => {
          if (!(err instanceof CorruptDataError)) throw err;
        },
      );
    }
    return true;
  }

  async move(input: { id: string; newId: string }): Promise<SessionMoveResult> {
    checkAdapterInput(input);
    const client = this.#handle.client;
    const key = this.#sessionKey(input.id);
    const newKey = this.#sessionKey(input.newId);
    // Read (and validate) the owner first: its index key must be named up
    // front; the scripts re-check it.
    const fields = await this.#step('move', key, () => client.hmget(key, 'd', 'v', 'u', 't'));
    if (fields.every((f) => f == null)) return { status: 'missing' };
    const owner = this.#record(key, fields).userId ?? '';
    const indexKey = owner === '' ? key : this.#indexKey(owner);
    if (!isCluster(client)) {
      const reply = (await this.#step('move', key, () =>
        moveScript.run(client, [key, newKey, indexKey], [owner, input.id, input.newId]),
      )) as number | [string, string, string, string];
      if (typeof reply === 'number') return { status: reply === -1 ? 'taken' : 'missing' };
      return { status: 'ok', record: this.#record(newKey, reply) };
    }
    // Cluster: index the new id first (so that it is never unindexed), take
    // the old record, put it under the new id. An update of the old id after
    // the take meets "missing"; a crash between take and put loses the
    // session (fails closed: the user signs in again). Every step that can
    // meet damaged data runs before the take.
    if (owner !== '') await this.#step('move', indexKey, () => client.sadd(indexKey, input.newId));
    if ((await this.#step('move', newKey, () => client.exists(newKey))) === 1) return { status: 'taken' };
    const taken = (await this.#step('move', key, () => takeScript.run(client, [key], [owner]))) as
      | 0
      | [string, string, string, string, string, number];
    if (taken === 0) return { status: 'missing' };
    const [data, version, , ttl, indexUntil, pttl] = taken;
    const put = await this.#step('move', newKey, () =>
      putScript.run(client, [newKey], [data, version, owner, ttl, indexUntil, Math.max(1, pttl)]),
    );
    // Re-adding the new id heals the index should a concurrent
    // destroyAllForUser have swept it between the two steps. The record has
    // moved: a damaged index here is reported later, not as a failed move.
    if (owner !== '') {
      await Promise.all([client.sadd(indexKey, input.newId), client.srem(indexKey, input.id)]).catch(
        (err: unknown) => {
          if (!isRedisDataError(err)) throw redisFailure('session move', err, indexKey);
        },
      );
    }
    if (put !== 1) return { status: 'missing' }; // 256-bit ids: only a concurrent put of the same id
    return { status: 'ok', record: this.#record(newKey, [data, version, owner, ttl]) };
  }

  async destroyAllForUser(userId: string): Promise<number> {
    checkAdapterInput({ userId: userId ?? '' });
    const client = this.#handle.client;
    const indexKey = this.#indexKey(userId);
    const members = () => this.#step('destroyAllForUser', indexKey, () => client.smembers(indexKey));
    // Only members that create would accept as ids name session keys;
    // anything else another program put into the index goes with the index.
    const sessionKeys = (ids: string[]) => ids.filter(isAdapterSessionId).map((id) => this.#sessionKey(id));
    if (!isCluster(client)) {
      // One atomic step over exactly the sessions the index lists: a session
      // moved by regenerate is either still listed under its old id or
      // already under its new one, never missed in between.
      for (let attempt = 0; attempt < 32; attempt++) {
        const ids = await members();
        if (ids.length === 0) return 0;
        const n = (await this.#step('destroyAllForUser', indexKey, () =>
          destroyAllScript.run(client, [indexKey, ...sessionKeys(ids)], [userId, ...ids]),
        )) as number;
        if (n >= 0) return n;
      }
      // The index kept changing (logins in a storm): fall through to the
      // step-by-step sweep of what it lists now.
    }
    const ids = await members();
    if (ids.length === 0) return 0;
    // One script per session key: on a Cluster they live in different slots;
    // issued together, they travel as one pipeline per node.
    const removed = await Promise.all(
      sessionKeys(ids).map(
        (key) =>
          this.#step('destroyAllForUser', key, () =>
            destroyOwnedScript.run(client, [key], [userId]),
          ) as Promise<number>,
      ),
    );
    await this.#step('destroyAllForUser', indexKey, () => client.srem(indexKey, ...ids));
    return removed.reduce((sum, n) => sum + n, 0);
  }

  /** Closes the connection if this adapter created it (a client you passed stays open). */
  async close(): Promise<void> {
    await this.#handle.close();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A record read back from `key`, validated as strictly as it was written. */
  #record(key: string, fields: ReadonlyArray<unknown>): SessionRecord {
    const [data, version, userId, ttl] = fields;
    if (
      typeof data !== 'string' ||
      typeof userId !== 'string' ||
      typeof version !== 'string' ||
      !VERSION.test(version) ||
      typeof ttl !== 'string' ||
      !TTL.test(ttl) ||
      Number(ttl) > MAX_DURATION_MS
    ) {
      throw new CorruptDataError(
        'session record is not what scaleout writes (a field is missing or not a number)',
        {
          key,
        },
      );
    }
    return { data, version: Number(version), userId: userId === '' ? undefined : userId, ttlMs: Number(ttl) };
  }

  async #extendIndex(key: string, userId: string, id: string, ttlMs: number, until: number): Promise<void> {
    // Re-adding the id heals an index lost to a clock jump or an eviction.
    const client = this.#handle.client;
    const indexKey = this.#indexKey(userId);
    await this.#step('touch', indexKey, () => indexAddScript.run(client, [indexKey], [id, 2 * ttlMs]));
    await this.#step('touch', key, () => markIndexScript.run(client, [key], [until]));
  }
}

/**
 * Creates a {@link RedisSessionAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisSessionAdapter({ connection: process.env.REDIS_URL!, prefix: 'myapp:sess:' });
 * const sessions = new SessionStore({ adapter });
 * ```
 */
export function redisSessionAdapter(options: RedisSessionAdapterOptions): RedisSessionAdapter {
  return new RedisSessionAdapter(options);
}
