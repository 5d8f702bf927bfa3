import type { SessionAdapter } from '../contracts/session.js';
import type { Serializer } from '../types.js';

/**
 * Options of {@link SessionStore}.
 *
 * @example
 * ```ts
 * const options: SessionStoreOptions = { adapter: redisSessionAdapter({ connection: redis }), ttlMs: 1_800_000 };
 * ```
 */
export interface SessionStoreOptions {
  /** Where sessions live. @default a new `MemorySessionAdapter` (one process only) */
  adapter?: SessionAdapter;
  /** Sliding lifetime of a session, ms; `touch` and `update` extend it. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /** How session data is encoded. @default jsonSerializer (refuses prototype pollution) */
  serializer?: Serializer;
  /** Retries of a merge-callback `update` after version conflicts before it throws. @default 16 */
  maxUpdateRetries?: number;
  /** Longest user id accepted, characters. @default 256 */
  maxUserIdLength?: number;
}

/**
 * Defaults of {@link SessionStoreOptions}.
 *
 * @example
 * ```ts
 * SESSION_STORE_DEFAULTS.ttlMs; // 86_400_000
 * ```
 */
export const SESSION_STORE_DEFAULTS = {
  /** 24 hours. */
  ttlMs: 86_400_000,
  /** Merge retries before a conflict error. */
  maxUpdateRetries: 16,
  /** Characters. */
  maxUserIdLength: 256,
} as const;
