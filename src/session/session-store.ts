import { memorySessionAdapter } from '../adapters/memory/memory-session-adapter.js';
import type { SessionAdapter, SessionRecord } from '../contracts/session.js';
import type { Session, SessionReader } from '../contracts/session-reader.js';
import {
  ConnectionError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  SessionConflictError,
  SessionNotFoundError,
} from '../errors.js';
import { assertWritesFaithfully } from '../internal/faithful.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { durationArgument, durationOption } from '../internal/validate.js';
import { jsonSerializer } from '../serializer.js';
import { OperationTelemetry, traceMethods } from '../telemetry/operation-telemetry.js';
import { type Clock, type Serializer, systemClock } from '../types.js';
import { generateSessionId, isValidSessionId } from './session-id.js';
import { checkDataSize, checkRecord, userIdString } from './session-record.js';
import {
  checkCreateOptions,
  checkSessionStoreOptions,
  checkSessionStoreParts,
  checkUpdateOptions,
  MAX_DATA_BYTES_LIMIT,
  SESSION_STORE_DEFAULTS,
  type SessionStoreOptions,
} from './session-store-options.js';

/**
 * Calls an adapter method, turning a back-end failure that is not already a
 * scaleout error (a dropped Redis connection, a command timeout) into a
 * {@link ConnectionError} that keeps the original as its `cause`.
 */
function backend<A extends SessionAdapter, M extends keyof SessionAdapter & string>(
  adapter: A,
  method: M,
): A[M] {
  const fn = adapter[method] as (...args: unknown[]) => Promise<unknown>;
  return (async (...args: unknown[]) => {
    try {
      return await fn.apply(adapter, args);
    } catch (err) {
      throw unavailable(method, err);
    }
  }) as A[M];
}

/** What {@link backend} throws for a failed adapter call (get/touch inline it: no closure per read). */
function unavailable(method: string, err: unknown): unknown {
  if (isScaleoutError(err)) return err;
  return new ConnectionError(`session store unavailable (${method} failed)`, { cause: err });
}

/** The span of each traced write (the session id and user id are never recorded). */
const SESSION_SPANS = {
  create: 'session create',
  update: 'session update',
  regenerate: 'session regenerate',
  destroy: 'session destroy',
  destroyAllForUser: 'session destroy_all',
} as const;

/**
 * Options of {@link SessionStore.create}.
 *
 * @example
 * ```ts
 * await sessions.create(data, { userId: 'u1', ttlMs: 3_600_000 } satisfies CreateSessionOptions);
 * ```
 */
export interface CreateSessionOptions {
  /**
   * Owner of the session, indexed for {@link SessionStore.destroyAllForUser}.
   * A number (a safe integer) is stored as its decimal string: the
   * session's `userId` reads back as `'42'`, and `42` and `'42'` name the
   * same user.
   */
  userId?: string | number;
  /** Lifetime of this session, ms. @default the store's `ttlMs` */
  ttlMs?: number;
}

/**
 * Options of {@link SessionStore.update} with a value.
 *
 * @example
 * ```ts
 * await sessions.update(id, next, { expectedVersion: session.version } satisfies UpdateSessionOptions);
 * ```
 */
export interface UpdateSessionOptions {
  /** Write only when the stored version is this one; else throw {@link SessionConflictError}. */
  expectedVersion: number;
}

/**
 * Sessions with unguessable ids, sliding expiry, optimistic concurrency and
 * logout-everywhere, over a {@link SessionAdapter} (memory by default,
 * `redisSessionAdapter` from `scaleout/redis` for many instances).
 *
 * - `create` makes a 256-bit id from `node:crypto`;
 * - `touch` extends the lifetime and reads the session in one round trip;
 * - `update` never loses a write: with `expectedVersion` the loser of a race
 *   gets {@link SessionConflictError}; with a merge callback it re-applies
 *   the callback to the winner's data and retries;
 * - `regenerate` rotates the id and keeps the data (against session fixation);
 * - `destroyAllForUser` uses a per-user index, never SCAN.
 *
 * Ids are checked before they reach the adapter: a malformed or oversized id
 * reads as "no session".
 *
 * @example
 * ```ts
 * const sessions = new SessionStore<{ cart: string[] }>({ ttlMs: 30 * 60_000 });
 * const s = await sessions.create({ cart: [] }, { userId: 'u1' });
 * await sessions.update(s.id, (data) => ({ cart: [...data.cart, 'sku-1'] }));
 * await sessions.destroyAllForUser('u1');
 * ```
 */
export class SessionStore<T = Record<string, unknown>> implements SessionReader<T> {
  readonly #adapter: SessionAdapter;
  readonly #ttlMs: number;
  readonly #serializer: Serializer;
  readonly #maxUpdateRetries: number;
  readonly #maxUserIdLength: number;
  readonly #maxDataBytes: number;
  readonly #clock: Clock;
  /** Whether this store created its adapter (and so closes it). */
  readonly #ownsAdapter: boolean;
  readonly #life = new Lifecycle('SessionStore');

  constructor(options: SessionStoreOptions = {}) {
    checkSessionStoreOptions(options);
    checkSessionStoreParts(options);
    this.#ownsAdapter = options.adapter === undefined;
    this.#ttlMs = durationOption('ttlMs', options.ttlMs ?? SESSION_STORE_DEFAULTS.ttlMs);
    this.#serializer = options.serializer ?? jsonSerializer;
    this.#maxUpdateRetries = options.maxUpdateRetries ?? SESSION_STORE_DEFAULTS.maxUpdateRetries;
    if (!Number.isInteger(this.#maxUpdateRetries) || this.#maxUpdateRetries < 0) {
      throw new InvalidOptionsError('maxUpdateRetries must be an integer >= 0', {
        option: 'maxUpdateRetries',
      });
    }
    this.#maxUserIdLength = options.maxUserIdLength ?? SESSION_STORE_DEFAULTS.maxUserIdLength;
    if (!Number.isInteger(this.#maxUserIdLength) || this.#maxUserIdLength < 1) {
      throw new InvalidOptionsError('maxUserIdLength must be an integer >= 1', { option: 'maxUserIdLength' });
    }
    this.#maxDataBytes = options.maxDataBytes ?? SESSION_STORE_DEFAULTS.maxDataBytes;
    if (
      !Number.isInteger(this.#maxDataBytes) ||
      this.#maxDataBytes < 16 ||
      this.#maxDataBytes > MAX_DATA_BYTES_LIMIT
    ) {
      throw new InvalidOptionsError(`maxDataBytes must be an integer in [16, ${MAX_DATA_BYTES_LIMIT}]`, {
        option: 'maxDataBytes',
      });
    }
    // Built last: a refused option leaves nothing behind.
    this.#clock = options.clock ?? systemClock;
    this.#adapter = options.adapter ?? memorySessionAdapter({ clock: this.#clock });
    // OpenTelemetry (when installed): a span per write; get and touch (every request) make none.
    const otel = OperationTelemetry.create(options);
    if (otel !== undefined) traceMethods(this, otel, SESSION_SPANS);
  }

  /**
   * Largest serialized session data accepted, bytes (the `maxDataBytes` option).
   *
   * @example
   * ```ts
   * if (JSON.stringify(cart).length > sessions.maxDataBytes) trimCart();
   * ```
   */
  get maxDataBytes(): number {
    return this.#maxDataBytes;
  }

  /** The adapter sessions are stored in. */
  get adapter(): SessionAdapter {
    return this.#adapter;
  }

  /**
   * The store's time source (the `clock` option, else `systemClock`), for
   * code built on the store that keeps time of its own, such as
   * `expressSessionStore`'s caches. Read-only.
   *
   * @example
   * ```ts
   * const startedAt = sessions.clock.now();
   * ```
   */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * Creates a session holding `data` and returns it with its new id.
   *
   * @example
   * ```ts
   * const { id } = await sessions.create({ theme: 'dark' }, { userId: user.id, ttlMs: 3_600_000 });
   * ```
   */
  async create(data: T, options: CreateSessionOptions = {}): Promise<Session<T>> {
    this.#assertOpen();
    checkCreateOptions(options);
    const userId = options.userId === undefined ? undefined : this.#userId(options.userId);
    const ttlMs = options.ttlMs === undefined ? this.#ttlMs : durationArgument('ttlMs', options.ttlMs);
    const text = this.#serialize(data);
    // 256 random bits make a collision practically impossible; the loop only
    // guards against a broken random source handing out a repeat.
    for (let attempt = 0; ; attempt++) {
      const id = generateSessionId();
      if (await backend(this.#adapter, 'create')({ id, data: text, userId, ttlMs })) {
        return { id, data: this.#serializer.deserialize<T>(text), version: 1, userId, ttlMs };
      }
      if (attempt >= 2) throw new InvalidArgumentError('could not allocate a fresh session id');
    }
  }

  /**
   * The session, or undefined when it is missing, expired or the id is
   * malformed. Does not extend the lifetime (see {@link touch}).
   *
   * @example
   * ```ts
   * const session = await sessions.get(cookies.sid);
   * ```
   */
  async get(id: string): Promise<Session<T> | undefined> {
    this.#assertOpen();
    if (!isValidSessionId(id)) return undefined;
    let record: SessionRecord | undefined;
    try {
      record = await this.#adapter.get(id);
    } catch (err) {
      throw unavailable('get', err);
    }
    return record === undefined ? undefined : this.#toSession(id, record);
  }

  /**
   * Extends the session to now + its ttlMs and returns it: one round trip.
   * Use it once per request for a rolling session.
   *
   * @example
   * ```ts
   * const session = await sessions.touch(cookies.sid);
   * if (!session) return redirectToLogin();
   * ```
   */
  async touch(id: string): Promise<Session<T> | undefined> {
    this.#assertOpen();
    if (!isValidSessionId(id)) return undefined;
    let record: SessionRecord | undefined;
    try {
      record = await this.#adapter.touch(id);
    } catch (err) {
      throw unavailable('touch', err);
    }
    return record === undefined ? undefined : this.#toSession(id, record);
  }

  /**
   * Updates the session's data without losing concurrent writes, and extends
   * its lifetime.
   *
   * - `update(id, fn)`: reads the session, writes `fn(data)`; when another
   *   write got there first, calls `fn` again on the newer data (up to
   *   `maxUpdateRetries` times, then {@link SessionConflictError}). `fn` may
   *   run more than once: keep it free of side effects.
   * - `update(id, data, { expectedVersion })`: writes only if the stored
   *   version is `expectedVersion`, else throws {@link SessionConflictError}.
   *
   * Throws {@link SessionNotFoundError} when the session does not exist.
   *
   * @example
   * ```ts
   * await sessions.update(id, (data) => ({ ...data, visits: data.visits + 1 }));
   * await sessions.update(id, { visits: 0 }, { expectedVersion: session.version });
   * ```
   */
  async update(id: string, merge: (current: T, session: Session<T>) => T | Promise<T>): Promise<Session<T>>;
  async update(id: string, data: T, options: UpdateSessionOptions): Promise<Session<T>>;
  async update(
    id: string,
    dataOrMerge: T | ((current: T, session: Session<T>) => T | Promise<T>),
    options?: UpdateSessionOptions,
  ): Promise<Session<T>> {
    this.#assertOpen();
    // A wrong call is reported as such, whatever the id.
    if (options !== undefined) checkUpdateOptions(options);
    if (options === undefined && typeof dataOrMerge !== 'function') {
      throw new InvalidArgumentError('update needs a merge function or { expectedVersion }', {
        argument: 'options',
      });
    }
    if (!isValidSessionId(id)) throw new SessionNotFoundError('no such session');
    if (options === undefined) {
      return this.#mergeUpdate(id, dataOrMerge as (current: T, session: Session<T>) => T | Promise<T>);
    }
    const expectedVersion = options.expectedVersion;
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) {
      throw new InvalidArgumentError('expectedVersion must be an integer >= 1', {
        argument: 'expectedVersion',
      });
    }
    const text = this.#serialize(dataOrMerge);
    const result = await backend(this.#adapter, 'update')({ id, data: text, expectedVersion });
    if (result.status === 'missing') throw new SessionNotFoundError('no such session');
    if (result.status === 'conflict') {
      throw new SessionConflictError(
        `session changed since version ${expectedVersion} (now ${result.current.version})`,
        { expectedVersion, actualVersion: result.current.version },
      );
    }
    return this.#toSession(id, result.record);
  }

  /**
   * Moves the session to a new id, keeping its data, version, owner and
   * remaining lifetime, and deletes the old id, in one atomic step of the
   * adapter (one Lua script on Redis). Call it when privileges change
   * (login) so that an id planted before login is worthless after it.
   * Returns undefined when the session does not exist.
   *
   * A concurrent `update` of the old id is never lost: it either lands
   * before the move (and its data moves along) or throws
   * {@link SessionNotFoundError}.
   *
   * @example
   * ```ts
   * const fresh = await sessions.regenerate(cookies.sid);
   * if (fresh) res.cookie('sid', fresh.id, { httpOnly: true, secure: true, sameSite: 'lax' });
   * ```
   */
  async regenerate(id: string): Promise<Session<T> | undefined> {
    this.#assertOpen();
    if (!isValidSessionId(id)) return undefined;
    // Read the record first: one that cannot be read back (damaged, or
    // written by another program) fails here, before anything moves, and
    // stays under its id. Moving it first would throw after the move, with
    // the old id gone and the new one never returned.
    const current = await backend(this.#adapter, 'get')(id);
    if (current === undefined) return undefined;
    this.#toSession(id, current);
    for (let attempt = 0; ; attempt++) {
      const next = generateSessionId();
      const result = await backend(this.#adapter, 'move')({ id, newId: next });
      if (result.status === 'missing') return undefined;
      if (result.status === 'ok') {
        try {
          return this.#toSession(next, result.record);
        } catch (err) {
          // Damaged between the read and the move (another writer): put it
          // back under the id the caller knows, then report.
          await backend(this.#adapter, 'move')({ id: next, newId: id }).catch(() => undefined);
          throw err;
        }
      }
      if (attempt >= 2) throw new InvalidArgumentError('could not allocate a fresh session id');
    }
  }

  /**
   * Deletes one session; true when it existed. A malformed id returns false.
   *
   * @example
   * ```ts
   * await sessions.destroy(cookies.sid); // logout on this device
   * ```
   */
  async destroy(id: string): Promise<boolean> {
    this.#assertOpen();
    if (!isValidSessionId(id)) return false;
    return backend(this.#adapter, 'destroy')(id);
  }

  /**
   * Deletes every session of a user (logout everywhere) through the
   * per-user index; returns how many were deleted.
   *
   * @example
   * ```ts
   * await sessions.destroyAllForUser(user.id); // after a password change
   * ```
   */
  async destroyAllForUser(userId: string | number): Promise<number> {
    this.#assertOpen();
    return backend(this.#adapter, 'destroyAllForUser')(this.#userId(userId));
  }

  /**
   * Closes the store: later calls throw `ClosedError`. Closes the adapter
   * only if the store created it (no `adapter` option); an adapter you
   * passed may be shared with other stores and stays open: close it
   * yourself. Idempotent: every call gets the same promise.
   *
   * @example
   * ```ts
   * const adapter = redisSessionAdapter({ connection: redis });
   * const sessions = new SessionStore({ adapter });
   * await sessions.close();
   * await adapter.close(); // yours to close
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      if (this.#ownsAdapter) await this.#adapter.close();
    });
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #mergeUpdate(
    id: string,
    merge: (current: T, session: Session<T>) => T | Promise<T>,
  ): Promise<Session<T>> {
    let record = await backend(this.#adapter, 'get')(id);
    for (let attempt = 0; ; attempt++) {
      if (record === undefined) throw new SessionNotFoundError('no such session');
      const session = this.#toSession(id, record);
      const next = await merge(session.data, session);
      const text = this.#serialize(next);
      const result = await backend(
        this.#adapter,
        'update',
      )({ id, data: text, expectedVersion: record.version });
      if (result.status === 'ok') {
        return this.#toSession(id, result.record);
      }
      if (result.status === 'missing') throw new SessionNotFoundError('no such session');
      if (attempt >= this.#maxUpdateRetries) {
        throw new SessionConflictError(`session kept changing: gave up after ${attempt + 1} attempts`, {
          expectedVersion: record.version,
          actualVersion: result.current.version,
        });
      }
      record = result.current;
    }
  }

  #serialize(data: unknown): string {
    const text = this.#serializer.serialize(data);
    if (typeof text !== 'string') {
      throw new InvalidOptionsError('serializer.serialize must return a string', { option: 'serializer' });
    }
    checkDataSize(text, this.#maxDataBytes);
    // What the next request reads is what was written, or nothing is stored.
    const serializer = this.#serializer;
    assertWritesFaithfully(data, serializer, 'session', () => serializer.deserialize(text));
    return text;
  }

  /** Checks a record from any adapter as strictly as the store writes one. */
  #toSession(id: string, record: SessionRecord): Session<T> {
    checkRecord(record, this.#maxDataBytes);
    return {
      id,
      data: this.#serializer.deserialize<T>(record.data),
      version: record.version,
      userId: record.userId,
      ttlMs: record.ttlMs,
    };
  }

  #userId(userId: unknown): string {
    return userIdString(userId, this.#maxUserIdLength);
  }

  #assertOpen(): void {
    this.#life.assertOpen();
  }
}
