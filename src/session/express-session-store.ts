import type { SessionAdapter, SessionRecord } from '../contracts/session.js';
import { CorruptDataError, InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { assertWritesFaithfully } from '../internal/faithful.js';
import { LruMap } from '../internal/lru.js';
import { MAX_DURATION_MS, optionsChecker } from '../internal/validate.js';
import { jsonSerializer } from '../serializer.js';
import { systemClock } from '../types.js';
import { generateSessionId, isValidSessionId } from './session-id.js';
import { checkDataSize, checkRecord } from './session-record.js';
import type { SessionStore } from './session-store.js';

/**
 * express-session's `Store` class: constructed without arguments.
 *
 * @example
 * ```ts
 * const Store: StoreConstructor = session.Store;
 * ```
 */
export type StoreConstructor = abstract new () => object;

/**
 * The `express-session` module (or anything with its `Store` base class).
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * const mod: ExpressSessionModule = session;
 * ```
 */
export interface ExpressSessionModule {
  /** express-session's abstract Store class. */
  Store: StoreConstructor;
}

/**
 * Options of {@link expressSessionStore}.
 *
 * @example
 * ```ts
 * expressSessionStore(session, { sessions, userIdField: 'accountId' } satisfies ExpressSessionStoreOptions);
 * ```
 */
export interface ExpressSessionStoreOptions {
  /**
   * The SessionStore whose adapter holds the sessions (memory or Redis). Its
   * `clock` also times the store's own short-lived caches.
   */
  sessions: SessionStore<unknown>;
  /**
   * Field of `req.session` holding the user id, indexed for
   * `destroyAllForUser`: a non-empty string, or a safe integer (indexed as
   * its decimal string). @default 'userId'
   */
  userIdField?: string;
  /** Lifetime when the cookie has no `maxAge`, ms. @default 86_400_000 */
  ttlMs?: number;
}

/**
 * A node-style callback, as express-session passes to its store.
 *
 * @example
 * ```ts
 * store.get(sid, ((err, session) => {}) satisfies ExpressSessionCallback<ExpressSessionData | null>);
 * ```
 */
export type ExpressSessionCallback<T = void> = (err?: unknown, value?: T) => void;

/**
 * A session as express-session hands it to its store (plain JSON data plus `cookie`).
 *
 * @example
 * ```ts
 * const data: ExpressSessionData = { cookie: { maxAge: 60_000 }, userId: 'u1' };
 * ```
 */
export interface ExpressSessionData {
  /** express-session's cookie settings; `maxAge` sets the TTL. */
  cookie?: {
    /** Remaining lifetime, ms. */
    maxAge?: number | null;
    /** Lifetime set when the cookie was made, ms. */
    originalMaxAge?: number | null;
    /** Absolute expiry. */
    expires?: string | Date | null;
  };
  [key: string]: unknown;
}

/**
 * The store `expressSessionStore` returns: express-session's Store with scaleout behind it.
 *
 * @example
 * ```ts
 * const store: ExpressSessionStore = expressSessionStore(session, { sessions });
 * app.use(session({ store, genid: store.genid, secret, resave: false, saveUninitialized: false }));
 * ```
 */
export interface ExpressSessionStore {
  /** Pass as express-session's `genid`: 256-bit ids that SessionStore accepts. */
  genid(): string;
  /** Reads a session (null when missing, expired or not a store id). */
  get(sid: string, callback: ExpressSessionCallback<ExpressSessionData | null>): void;
  /** Writes a session (versioned; the TTL follows this save's `cookie.maxAge`, else `expires`). */
  set(sid: string, session: ExpressSessionData, callback?: ExpressSessionCallback): void;
  /** Slides the session's expiry, by the TTL of the `cookie` given (the stored one without a cookie). */
  touch(sid: string, session: ExpressSessionData, callback?: ExpressSessionCallback): void;
  /** Deletes a session. */
  destroy(sid: string, callback?: ExpressSessionCallback): void;
}

const checkOptions = optionsChecker({
  where: 'expressSessionStore options',
  keys: ['sessions', 'userIdField', 'ttlMs'],
  hints: {
    store: 'sessions',
    sessionStore: 'sessions',
    ttl: 'ttlMs',
    maxAge: 'ttlMs',
    userField: 'userIdField',
  },
  bareNumber: 'ttlMs',
});

/** What a save needs to know of the stored session: its version and owner. */
type Loaded = Pick<SessionRecord, 'version' | 'userId'>;

/** The indexed owner named by `value`, or undefined (not indexed). */
function ownerOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= 1024) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** A session read back: a plain JSON object (with an object `cookie`, if any), else CorruptDataError. */
function readSession(text: string): ExpressSessionData {
  const value = jsonSerializer.deserialize<unknown>(text);
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    ((value as ExpressSessionData).cookie !== undefined &&
      (typeof (value as ExpressSessionData).cookie !== 'object' ||
        (value as ExpressSessionData).cookie === null))
  ) {
    throw new CorruptDataError('stored express-session data is not a session object');
  }
  return value as ExpressSessionData;
}

/**
 * The lifetime the cookie gives the session now: its remaining `maxAge`
 * (express-session's Cookie computes it from `expires`), else the time to
 * `expires`, else `originalMaxAge`, else `fallback` (a browser-session
 * cookie). At least 1 ms: a cookie past its expiry leaves the session
 * about to expire, not kept.
 */
function ttlOf(session: ExpressSessionData, fallback: number, now: number): number {
  const cookie = session.cookie;
  let ms: unknown = cookie?.maxAge;
  if (typeof ms !== 'number' && cookie?.expires != null) {
    const at = cookie.expires instanceof Date ? cookie.expires.getTime() : Date.parse(String(cookie.expires));
    if (Number.isFinite(at)) ms = at - now;
  }
  if (typeof ms !== 'number') ms = cookie?.originalMaxAge;
  if (typeof ms === 'number' && Number.isFinite(ms)) {
    return Math.min(Math.max(1, Math.ceil(ms)), MAX_DURATION_MS);
  }
  return fallback;
}

function nothing(): void {}

function done<T>(promise: Promise<T>, callback: ExpressSessionCallback<T> | undefined): void {
  // A callback that is not a function is ignored (never a TypeError in a
  // promise handler: an unhandled rejection); the outcome is then dropped.
  const cb = typeof callback === 'function' ? callback : undefined;
  promise.then(
    (value) => cb?.(null, value),
    (err: unknown) => cb?.(err),
  );
}

/**
 * An `express-session` store backed by a scaleout {@link SessionStore}:
 * switch an Express app to Redis sessions on ioredis with one line
 * (connect-redis no longer supports ioredis). Writes are versioned: a
 * session is never resurrected after `destroy`, and the owner named by
 * `req.session.userId` is indexed, so `sessions.destroyAllForUser(id)` logs
 * a user out of every express-session too.
 *
 * Use the store's `genid` so that ids are the 256-bit ids SessionStore
 * validates (ids of another shape read as no session).
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * import { expressSessionStore } from 'scaleout/express';
 * const store = expressSessionStore(session, { sessions: new SessionStore({ adapter: redisSessionAdapter({ connection: redis }) }) });
 * app.use(session({ store, genid: store.genid, secret: process.env.COOKIE_SECRET!, resave: false, saveUninitialized: false }));
 * ```
 */
export function expressSessionStore<M extends ExpressSessionModule>(
  expressSession: M,
  options: ExpressSessionStoreOptions,
): ExpressSessionStore & InstanceType<M['Store']> {
  if (typeof expressSession?.Store !== 'function') {
    throw new InvalidOptionsError('pass the express-session module (it provides Store)', { option: 'Store' });
  }
  checkOptions(options);
  if (options?.sessions === undefined) {
    throw new InvalidOptionsError('sessions is required', { option: 'sessions' });
  }
  const sessions: unknown = options.sessions;
  const given: SessionAdapter | undefined =
    typeof sessions === 'object' && sessions !== null
      ? (sessions as { adapter?: SessionAdapter }).adapter
      : undefined;
  if (typeof given?.get !== 'function' || typeof options.sessions.maxDataBytes !== 'number') {
    throw new InvalidOptionsError('sessions must be a SessionStore', { option: 'sessions' });
  }
  const adapter: SessionAdapter = given;
  const maxDataBytes = options.sessions.maxDataBytes;
  const userIdField = options.userIdField ?? 'userId';
  if (typeof userIdField !== 'string' || userIdField.length === 0) {
    throw new InvalidOptionsError('userIdField must be a non-empty string', { option: 'userIdField' });
  }
  // Every record read is checked as SessionStore checks it.
  const read = async (sid: string) => {
    const record = await adapter.get(sid);
    if (record !== undefined) checkRecord(record, maxDataBytes);
    return record;
  };
  // The version and owner this process last read or wrote for each id.
  // express-session loads a session when a request starts and saves it when
  // the request ends: the save then writes against the version it loaded
  // instead of reading it again (a stale one costs a version conflict, which
  // answers with the current record). Bounded and short-lived: a miss only
  // costs that read.
  // Both caches keep the SessionStore's time (its `clock` option).
  const clock = options.sessions.clock ?? systemClock;
  const loaded = new LruMap<string, Loaded>({ maxEntries: 10_000, clock });
  const loadedTtlMs = 60_000;
  const remember = (sid: string, record: Loaded): void => {
    loaded.set(sid, { version: record.version, userId: record.userId }, loadedTtlMs);
  };
  const toSession = (sid: string, record: SessionRecord | undefined): ExpressSessionData | null => {
    if (record === undefined) return null;
    checkRecord(record, maxDataBytes);
    const session = readSession(record.data);
    remember(sid, record);
    return session;
  };
  const fallbackTtl = options.ttlMs ?? 86_400_000;
  if (!Number.isInteger(fallbackTtl) || fallbackTtl < 1 || fallbackTtl > MAX_DURATION_MS) {
    throw new InvalidOptionsError('ttlMs must be a positive integer number of ms', { option: 'ttlMs' });
  }

  // Ids from genid() not yet saved. genid and the first save run in the same
  // request, so this process-local set is enough; it is bounded and expiring.
  const fresh = new LruMap<string, true>({ maxEntries: 100_000, clock });
  const freshTtlMs = 10 * 60_000;
  // Takes `sid` out of `fresh`: true if it was there and not expired
  // (LruMap.delete alone would also take an expired entry).
  const takeFresh = (sid: string): boolean => fresh.get(sid) !== undefined && fresh.delete(sid);

  const write = async (sid: string, session: ExpressSessionData): Promise<void> => {
    if (!isValidSessionId(sid)) {
      throw new InvalidArgumentError('session id was not made by the store genid', { argument: 'sid' });
    }
    if (typeof session !== 'object' || session === null || Array.isArray(session)) {
      throw new InvalidArgumentError('session must be an object', { argument: 'session' });
    }
    const data = jsonSerializer.serialize(session);
    checkDataSize(data, maxDataBytes);
    // The application's data must read back as written; the cookie is
    // express-session's (a Cookie with a Date), which it rebuilds on load.
    const { cookie: _cookie, ...written } = session;
    assertWritesFaithfully(written, jsonSerializer, 'session', () => {
      const { cookie: _read, ...rest } = jsonSerializer.deserialize<ExpressSessionData>(data);
      return rest;
    });
    const userId = ownerOf(session[userIdField]);
    const ttlMs = ttlOf(session, fallbackTtl, clock.now());
    // express-session writes whole sessions (last writer wins); the version
    // check only makes sure a concurrent destroy is not undone.
    let known: Loaded | undefined = loaded.get(sid);
    for (let attempt = 0; attempt < 8; attempt++) {
      if (known === undefined && takeFresh(sid)) {
        // An id genid handed out and never saved: create it, no read first.
        if (await adapter.create({ id: sid, data, userId, ttlMs })) {
          remember(sid, { version: 1, userId });
          return;
        }
        continue;
      }
      // A save for the owner the session was loaded with needs no read.
      // An owner change (login) reads the record: it is put back should the
      // re-create fail.
      const reuse = known !== undefined && known.userId === userId;
      const record = reuse ? undefined : await read(sid);
      const current: Loaded | undefined = reuse ? known : record;
      known = undefined;
      if (current === undefined) {
        // Only an id this store handed out and that was never saved may be
        // created: a save that lands after destroy/destroyAllForUser (from a
        // request that loaded the session before) must not bring it back.
        if (!takeFresh(sid)) return;
        if (await adapter.create({ id: sid, data, userId, ttlMs })) {
          remember(sid, { version: 1, userId });
          return;
        }
        continue;
      }
      if (record !== undefined && record.userId !== userId) {
        // The owner changed (login): re-create so that the user index
        // follows. Should the create fail (the new owner's index is
        // damaged, Redis drops), the previous record is put back: the
        // session is never left deleted.
        await adapter.destroy(sid);
        let created: boolean;
        try {
          created = await adapter.create({ id: sid, data, userId, ttlMs });
        } catch (err) {
          await adapter
            .create({ id: sid, data: record.data, userId: record.userId, ttlMs: record.ttlMs })
            .catch(() => false);
          throw err;
        }
        if (created) {
          remember(sid, { version: 1, userId });
          return;
        }
        continue;
      }
      const result = await adapter.update({ id: sid, data, expectedVersion: current.version, ttlMs });
      if (result.status === 'ok') {
        remember(sid, result.record);
        return;
      }
      if (result.status === 'conflict') {
        // Written by someone else since: try again on their version.
        checkRecord(result.current, maxDataBytes);
        known = result.current;
      }
    }
    throw new InvalidArgumentError('session kept changing while being saved');
  };

  class ScaleoutExpressSessionStore extends expressSession.Store implements ExpressSessionStore {
    genid(): string {
      const id = generateSessionId();
      fresh.set(id, true, freshTtlMs);
      return id;
    }

    get(sid: string, callback: ExpressSessionCallback<ExpressSessionData | null>): void {
      // The store call and its checks, chained directly: no async frames of our own per request.
      let session: Promise<ExpressSessionData | null>;
      try {
        session = isValidSessionId(sid)
          ? adapter.get(sid).then((record) => toSession(sid, record))
          : Promise.resolve(null);
      } catch (err) {
        session = Promise.reject(err);
      }
      done(session, callback);
    }

    set(sid: string, session: ExpressSessionData, callback?: ExpressSessionCallback): void {
      done(write(sid, session), callback);
    }

    touch(sid: string, session: ExpressSessionData, callback?: ExpressSessionCallback): void {
      let touched: Promise<unknown>;
      try {
        // The expiry follows the cookie express-session sends now (it may
        // have been given another maxAge since the session was saved).
        // Without a cookie, the stored lifetime is kept.
        const ttlMs =
          typeof session?.cookie === 'object' && session.cookie !== null
            ? ttlOf(session, fallbackTtl, clock.now())
            : undefined;
        touched = isValidSessionId(sid) ? adapter.touch(sid, { ttlMs }) : Promise.resolve();
      } catch (err) {
        touched = Promise.reject(err);
      }
      done(touched.then(nothing), callback);
    }

    destroy(sid: string, callback?: ExpressSessionCallback): void {
      loaded.delete(sid);
      done(
        (async () => {
          if (isValidSessionId(sid)) await adapter.destroy(sid);
        })(),
        callback,
      );
    }
  }
  const store = new ScaleoutExpressSessionStore();
  store.genid = store.genid.bind(store);
  // It extends the Store class it was given: an express-session Store to the type checker too.
  return store as ExpressSessionStore & InstanceType<M['Store']>;
}
