/**
 * What authorization needs from a session store: read a session by id,
 * with or without sliding its expiry. {@link SessionStore} is one; a test
 * double or another store can be given to `createAuthorizer({ sessions })`
 * as long as it answers these two calls.
 *
 * @module
 */

/**
 * A session as a {@link SessionReader} returns it (and as
 * {@link SessionStore} returns it).
 *
 * @example
 * ```ts
 * const session: Session<{ cart: string[] }> = await sessions.create({ cart: [] }, { userId: 'u1' });
 * session.id; // 43-char base64url id
 * ```
 */
export interface Session<T> {
  /** The unguessable id (256 bits, base64url). Put it in a `Secure; HttpOnly` cookie. */
  readonly id: string;
  /** The session data. */
  readonly data: T;
  /** Version for optimistic updates; starts at 1. */
  readonly version: number;
  /** Owner, when the session was created for a user. */
  readonly userId: string | undefined;
  /** The sliding lifetime, ms. */
  readonly ttlMs: number;
}

/**
 * Reads sessions by id: the one seam between authorization and a session
 * store. Both calls answer undefined for a missing, expired or malformed
 * id, and reject with a typed error when the store cannot answer.
 *
 * @example
 * ```ts
 * const reader: SessionReader = new SessionStore();
 * const auth = createAuthorizer({ sessions: reader });
 * ```
 */
export interface SessionReader<T = unknown> {
  /** The session, without extending its lifetime. */
  get(id: string): Promise<Session<T> | undefined>;
  /** The session, its expiry slid to now + its ttlMs (one round trip). */
  touch(id: string): Promise<Session<T> | undefined>;
}
