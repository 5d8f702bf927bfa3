import { randomFillSync } from 'node:crypto';

/**
 * @internal Message ids: UUID v7 (RFC 9562), time-ordered, monotonic within
 * this process: the same bytes as `uuid`'s `v7()` (its byte layout and its
 * 32-bit sequence, seeded at random each millisecond and counted up within
 * one), with the random bytes drawn from a pool. `uuid` asks
 * `crypto.getRandomValues` for 16 bytes per id, and that call was the
 * largest single cost of `MessageQueue.publish` (a quarter of its CPU time
 * in a profile); one `randomFillSync` now serves 256 ids, and the text is written straight
 * from the pool (no options object, byte array or view per id).
 */

const POOL_BYTES = 4_096;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/** Two hex digits of each byte. */
const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/**
 * The text of the UUID v7 of `msecs`, `seq` and the random bytes at
 * `random[at..at+16]`: the bytes `uuid`'s `v7({ random, msecs, seq })` makes
 * (48 bits of ms, version 7, 12 bits of the sequence, variant 10, 20 more
 * bits of it, then random bits), written as text with no array or options
 * object per id.
 *
 * @example
 * ```ts
 * messageIdOf(new Uint8Array(16), 0, 1_700_000_000_000, 0); // '018bcfe5-6800-7000-8000-000000000000'
 * ```
 */
export function messageIdOf(random: Uint8Array, at: number, msecs: number, seq: number): string {
  return (
    HEX[(msecs / 0x10000000000) & 0xff]! +
    HEX[(msecs / 0x100000000) & 0xff]! +
    HEX[(msecs / 0x1000000) & 0xff]! +
    HEX[(msecs / 0x10000) & 0xff]! +
    '-' +
    HEX[(msecs / 0x100) & 0xff]! +
    HEX[msecs & 0xff]! +
    '-' +
    HEX[0x70 | ((seq >>> 28) & 0x0f)]! +
    HEX[(seq >>> 20) & 0xff]! +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)]! +
    HEX[(seq >>> 6) & 0xff]! +
    '-' +
    HEX[((seq << 2) & 0xff) | (random[at + 10]! & 0x03)]! +
    HEX[random[at + 11]!]! +
    HEX[random[at + 12]!]! +
    HEX[random[at + 13]!]! +
    HEX[random[at + 14]!]! +
    HEX[random[at + 15]!]!
  );
}

/** The last id's millisecond and sequence (as `uuid` keeps them). */
const state = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

/**
 * A new UUID v7, later than every id this process made before.
 *
 * @example
 * ```ts
 * const id = newMessageId(); // '019...-7...-8...-...'
 * ```
 */
export function newMessageId(): string {
  if (poolAt + 16 > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += 16;
  // Real time, not a primitive's clock: a UUID v7's time field orders ids across processes (RFC 9562).
  const now = Date.now();
  if (now > state.msecs) {
    state.seq = ((pool[at + 6]! & 0x7f) << 24) | (pool[at + 7]! << 16) | (pool[at + 8]! << 8) | pool[at + 9]!;
    state.msecs = now;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return messageIdOf(pool, at, state.msecs, state.seq);
}
