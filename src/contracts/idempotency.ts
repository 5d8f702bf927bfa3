/**
 * The port between {@link Idempotency} (policy: scoping, fingerprints,
 * waiting, what is stored and replayed) and a store of idempotency records
 * (I/O only).
 *
 * A record is one key in one of two states:
 *
 * ```
 *   (absent) --claim--> in-progress {owner, fingerprint}, expires after leaseMs
 *   in-progress --complete (owner)--> completed {fingerprint, response}, expires after ttlMs
 *   in-progress --release (owner)--> (absent)
 *   in-progress, completed --expiry--> (absent)
 * ```
 *
 * `claim` is one atomic step (one Lua script on Redis): it creates the
 * in-progress record when the key is free, and otherwise reports what holds
 * the key. Whether the fingerprints agree is for the primitive to decide.
 *
 * @module
 */

/**
 * What {@link IdempotencyStore.claim} is asked to do.
 *
 * @example
 * ```ts
 * const request: IdempotencyClaimRequest = { key: 'refund:42', owner: randomUUID(), fingerprint: 'f1', leaseMs: 30_000 };
 * ```
 */
export interface IdempotencyClaimRequest {
  /** The record's key (non-empty, at most 1024 characters, no control characters). */
  key: string;
  /** A random token of this execution; `complete` and `release` must present it. */
  owner: string;
  /** A digest of the request, kept with the record ('' when requests are not compared). */
  fingerprint: string;
  /** How long the in-progress record lives if nobody completes or releases it, in ms. */
  leaseMs: number;
}

/**
 * What {@link IdempotencyStore.claim} answers.
 *
 * @example
 * ```ts
 * const r = await store.claim(request);
 * if (r.status === 'completed') return replay(r.response);
 * ```
 */
export type IdempotencyClaimResult =
  | {
      /** The key was free: it is now in progress, owned by the request's `owner`. */
      status: 'claimed';
    }
  | {
      /** Another execution (or the same owner, earlier) holds the key and has not finished. */
      status: 'busy';
      /** The fingerprint the holder claimed with. */
      fingerprint: string;
      /** Ms until the holder's claim expires at the latest (> 0). */
      retryAfterMs: number;
    }
  | {
      /** An execution finished and its response is stored. */
      status: 'completed';
      /** The fingerprint of the request that ran. */
      fingerprint: string;
      /** The stored response, as given to `complete`. */
      response: string;
    };

/**
 * What {@link IdempotencyStore.complete} is asked to do.
 *
 * @example
 * ```ts
 * await store.complete({ key, owner, fingerprint, response: '{"t":"v"}', ttlMs: 86_400_000 });
 * ```
 */
export interface IdempotencyCompleteRequest {
  /** The record's key. */
  key: string;
  /** The owner token given to `claim`. */
  owner: string;
  /** The fingerprint given to `claim` (kept again if the record had to be created anew). */
  fingerprint: string;
  /** The response to keep (opaque text; the primitive encodes and validates it). */
  response: string;
  /** How long the completed record is kept, in ms. */
  ttlMs: number;
}

/**
 * What {@link IdempotencyStore.release} is asked to do.
 *
 * @example
 * ```ts
 * await store.release({ key, owner });
 * ```
 */
export interface IdempotencyReleaseRequest {
  /** The record's key. */
  key: string;
  /** The owner token given to `claim`. */
  owner: string;
}

/**
 * A store of idempotency records: memory (`memoryIdempotencyStore`) or
 * Redis (`redisIdempotencyStore` from `scaleout/redis`). Implement it to
 * keep records elsewhere, and check it with `idempotencyStoreConformance`
 * from `scaleout/testing`.
 *
 * Records read back must be validated: a record the store cannot read as
 * one it wrote is a `CorruptDataError`, never a claim or a replay.
 *
 * @example
 * ```ts
 * const store: IdempotencyStore = memoryIdempotencyStore();
 * const claim = await store.claim({ key: 'k', owner: 'o1', fingerprint: '', leaseMs: 5_000 });
 * if (claim.status === 'claimed') await store.complete({ key: 'k', owner: 'o1', fingerprint: '', response: 'done', ttlMs: 60_000 });
 * ```
 */
export interface IdempotencyStore {
  /**
   * In one atomic step: an absent (or expired) key becomes in-progress,
   * owned by `owner`, for `leaseMs`; an in-progress key answers `busy`; a
   * completed key answers its stored response.
   */
  claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaimResult>;
  /**
   * Stores the response for `ttlMs` if `owner` still holds the key, or if
   * the key is absent (the claim expired and nobody took it since). False
   * when another execution holds or completed the key: nothing was written.
   */
  complete(request: IdempotencyCompleteRequest): Promise<boolean>;
  /** Drops the in-progress record if `owner` holds it (so a retry runs); true when it did. */
  release(request: IdempotencyReleaseRequest): Promise<boolean>;
  /** Releases the store's own resources (connections it created). Safe to call more than once. */
  close(): Promise<void>;
}
