import { CacheValueTooLargeError, CorruptDataError } from '../errors.js';
import { assertFaithful } from '../internal/faithful.js';
import { jsonSerializer } from '../serializer.js';
import { decode, encode } from './envelope.js';
import type { L1Entry } from './l1-bus.js';
import type { CacheState } from './state.js';

/**
 * A value's three forms: the caller's value, the text stored in the
 * adapter (the serializer's payload in an envelope, under `v:<key>`), and
 * the L1 entry (the serializer's round trip of the value). Written with a
 * size cap and a faithfulness check; read back as strictly as written.
 */

const DATA = 'v:';

/** The adapter key of a cache key. */
export function dataKey(key: string): string {
  return DATA + key;
}

/** The adapter key prefix of a cache key prefix (a namespace). */
export function dataPrefix(prefix: string): string {
  return DATA + prefix;
}

/** Serializes and checks the size cap; throws the typed error for bad values. */
export function serialize(state: CacheState, value: unknown): string {
  const text = state.serializer.serialize(value);
  const max = state.settings.maxValueBytes;
  if (text.length * 3 > max) {
    const bytes = Buffer.byteLength(text);
    if (bytes > max) {
      throw new CacheValueTooLargeError(
        `value is ${bytes} bytes serialized, more than maxValueBytes (${max})`,
        {
          bytes,
          maxBytes: max,
        },
      );
    }
  }
  return text;
}

/** Decodes stored text into an L1 entry (stored in L1); undefined (and an error event) when unreadable. */
export function read(
  state: CacheState,
  key: string,
  text: string,
  now: number,
  graceMs: number,
): L1Entry | undefined {
  const decoded = decode(text);
  const max = state.settings.maxValueBytes;
  if (
    decoded.payload.length > max ||
    (decoded.payload.length * 3 > max && Buffer.byteLength(decoded.payload) > max)
  ) {
    // Read back as strictly as written: scaleout never stores more than maxValueBytes.
    state.backend.report(
      'deserialize',
      key,
      new CorruptDataError(`the stored value is larger than maxValueBytes (${max}); treated as a miss`, {
        key,
      }),
      false,
    );
    return undefined;
  }
  let value: unknown;
  try {
    value = state.serializer.deserialize(decoded.payload);
  } catch (err) {
    state.backend.report('deserialize', key, err, false);
    return undefined;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
    // A counter another program pushed past 2^53 would read rounded: refuse it as written.
    if (String(value) !== decoded.payload) {
      state.backend.report(
        'deserialize',
        key,
        new CorruptDataError('the stored integer does not read back exactly (past 2^53); treated as a miss', {
          key,
        }),
        false,
      );
      return undefined;
    }
  }
  const entry: L1Entry = {
    value,
    soft: decoded.soft,
    hard: decoded.soft + graceMs,
    delta: decoded.delta,
    size: decoded.payload.length,
  };
  state.bus.store(key, entry, now);
  return entry;
}

/** What {@link prepare} builds for a value. */
export interface Prepared {
  payload: string;
  /** The stored text (envelope included). */
  text: string;
  entry: L1Entry;
  /** The adapter TTL: the value's TTL plus its grace. */
  storeTtlMs: number;
}

/**
 * Builds the stored text and the L1 entry for a value. L1 holds the
 * serializer's round trip of the value, never the caller's object: what
 * every other instance reads from the adapter, untouched by later
 * mutations of the caller's object. A value whose round trip is other
 * data (a Map, a Date, NaN under JSON) is refused with
 * `SerializationError` (see internal/faithful.ts).
 */
export function prepare(
  state: CacheState,
  value: unknown,
  ttlMs: number,
  graceMs: number,
  delta: number,
  now: number,
): Prepared {
  const payload = serialize(state, value);
  let copy: unknown;
  if (typeof value === 'string' && state.serializer === jsonSerializer) {
    copy = value; // a JSON string round-trips to itself
  } else {
    copy = state.serializer.deserialize(payload);
    assertFaithful(value, copy, 'cache');
  }
  const soft = now + ttlMs;
  const entry: L1Entry = {
    value: copy,
    soft,
    hard: soft + graceMs,
    delta: Math.round(delta),
    size: payload.length,
  };
  return { payload, text: encode(payload, soft, entry.delta), entry, storeTtlMs: ttlMs + graceMs };
}
