/**
 * Where revoked token ids (`jti`) are kept until the token would have
 * expired anyway. Checked on every verify, cache hits included.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: redisJwtDenylist({ connection: redis }) });
 * await jwt.revoke(token); // logout
 * ```
 */
export interface JwtDenylistAdapter {
  /** Records `jti` as revoked until `expiresAtMs` (epoch ms), after which it may be forgotten. */
  add(jti: string, expiresAtMs: number): Promise<void>;
  /** Whether `jti` is revoked. */
  has(jti: string): Promise<boolean>;
  /** Releases what the adapter owns (a connection it made); idempotent. A `Jwt` never closes its denylist. */
  close(): Promise<void>;
}
