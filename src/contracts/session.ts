/**
 * The port between {@link SessionStore} and its storage. Adapters do I/O
 * only: the store decides ids, TTLs, serialization and retries.
 *
 * @module
 */

/**
 * One stored session as an adapter returns it.
 *
 * @example
 * ```ts
 * const record: SessionRecord = { data: '{"cart":[]}', version: 1, userId: 'u1', ttlMs: 86_400_000 };
 * ```
 */
export interface SessionRecord {
  /** The serialized session data. */
  data: string;
  /** Starts at 1; every successful update adds 1. */
  version: number;
  /** The user the session belongs to, if any (indexed for `destroyAllForUser`). */
  userId: string | undefined;
  /** The sliding lifetime: `touch` and `update` push expiry to now + ttlMs. */
  ttlMs: number;
}

/**
 * Result of {@link SessionAdapter.update}: written (with the new record),
 * a version conflict (with the current record, so a merge can retry without
 * another read), or no such session.
 *
 * @example
 * ```ts
 * const result = await adapter.update({ id, data, expectedVersion: 1 });
 * if (result.status === 'conflict') retryWith(result.current);
 * ```
 */
export type SessionUpdateResult =
  | {
      /** Written. */
      status: 'ok';
      /** The record as stored now. */
      record: SessionRecord;
    }
  | {
      /** Not written: the stored version differs. */
      status: 'conflict';
      /** The record as stored now. */
      current: SessionRecord;
    }
  | {
      /** No such session. */
      status: 'missing';
    };

/**
 * What {@link SessionAdapter.move} did: moved (the record as it now lives
 * under the new id), no such session, or the new id already exists.
 *
 * @example
 * ```ts
 * const result = await adapter.move({ id, newId });
 * if (result.status === 'ok') console.log(result.record.version);
 * ```
 */
export type SessionMoveResult =
  | {
      /** Moved. */
      status: 'ok';
      /** The record under the new id (same data, version, owner and ttl). */
      record: SessionRecord;
    }
  | {
      /** No such session (or it expired). */
      status: 'missing';
    }
  | {
      /** `newId` is in use: nothing moved. */
      status: 'taken';
    };

/**
 * Input of {@link SessionAdapter.update}.
 *
 * @example
 * ```ts
 * const input: SessionUpdateInput = { id, data: '{"cart":[]}', expectedVersion: 3, ttlMs: 3_600_000 };
 * ```
 */
export interface SessionUpdateInput {
  /** The session id. */
  id: string;
  /** The new serialized data. */
  data: string;
  /** The version the write is based on; a different stored version is a conflict. */
  expectedVersion: number;
  /**
   * The session's new sliding lifetime, ms: stored with the record (later
   * `touch`es slide by it) and the expiry set to now + it. Omit to keep the
   * stored one.
   */
  ttlMs?: number | undefined;
}

/**
 * Options of {@link SessionAdapter.touch}.
 *
 * @example
 * ```ts
 * await adapter.touch(id, { ttlMs: 3_600_000 });
 * ```
 */
export interface SessionTouchOptions {
  /**
   * The session's new sliding lifetime, ms, as for
   * {@link SessionUpdateInput.ttlMs}. Omit to keep the stored one.
   */
  ttlMs?: number | undefined;
}

/**
 * What a session back end must do. Ids reaching an adapter are already
 * validated (URL-safe, bounded length). Every operation on one session is
 * one round trip on Redis.
 *
 * @example
 * ```ts
 * const store = new SessionStore({ adapter: memorySessionAdapter() });
 * ```
 */
export interface SessionAdapter {
  /** Stores a new session at version 1 unless `id` exists; false when it does. */
  create(input: { id: string; data: string; userId: string | undefined; ttlMs: number }): Promise<boolean>;
  /** The session, or undefined when missing or expired. Does not extend it. */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Extends the session to now + its ttlMs and returns it, in one step.
   * With `options.ttlMs`, that becomes the session's ttlMs first (the
   * record returned carries it).
   */
  touch(id: string, options?: SessionTouchOptions): Promise<SessionRecord | undefined>;
  /**
   * Replaces the data when the stored version equals `expectedVersion`,
   * adding 1 to the version and extending expiry to now + ttlMs (the
   * input's `ttlMs` when given, which is then stored, else the stored one).
   */
  update(input: SessionUpdateInput): Promise<SessionUpdateResult>;
  /**
   * Moves a session to `newId` as one step with respect to `update`,
   * `touch` and `destroyAllForUser`: data, version, owner and remaining
   * lifetime move together, the owner's index lists the new id, and the old
   * id is gone. An `update` of the old id either lands before the move (and
   * moves with it) or finds the session missing; none is lost.
   */
  move(input: { id: string; newId: string }): Promise<SessionMoveResult>;
  /** Removes one session (and its entry in its user's index); true when it existed. */
  destroy(id: string): Promise<boolean>;
  /** Removes every session of `userId` through the per-user index; returns how many. */
  destroyAllForUser(userId: string): Promise<number>;
  /**
   * Releases what the adapter owns (connections it created; a client
   * passed in stays open). Idempotent. A {@link SessionStore} calls it only
   * for an adapter it created itself.
   */
  close(): Promise<void>;
}
