import { randomFillSync } from 'node:crypto';

/** Bytes of randomness in one token id (128 bits, 22 base64url characters). */
const ID_BYTES = 16;
/** Ids drawn from one fill of the pool. */
const IDS_PER_FILL = 256;

const pool = Buffer.allocUnsafeSlow(ID_BYTES * IDS_PER_FILL);
let offset = pool.length;

/**
 * A random token id (`jti`): 128 bits from the CSPRNG, base64url. The bytes
 * come from a pool refilled 4 KB at a time, as node's `randomUUID` and the
 * `uuid` package do: one `randomBytes(16)` per token cost about a quarter of
 * an HS256 sign (a crypto call and a buffer per id), a pooled read costs one
 * string. Every byte is handed out once; the pool is module-private.
 *
 * @internal
 */
export function randomTokenId(): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += ID_BYTES;
  return pool.toString('base64url', start, offset);
}
