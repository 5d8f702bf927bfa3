import { CorruptDataError } from '../errors.js';

/**
 * A message of the cross-instance invalidation bus: `{ i, k }` (instance
 * `i` wrote or deleted the keys `k`) or `{ i, p }` (instance `i` cleared
 * every key under prefix `p`). JSON, published on the adapter's channel
 * `cache:bus`.
 */
export type BusMessage =
  | { readonly i: string; readonly k: readonly string[]; readonly p?: undefined }
  | { readonly i: string; readonly p: string; readonly k?: undefined };

/** Most keys one message may name (a `setMany` / `deleteMany` batch). */
const MAX_KEYS = 100_000;

function corrupt(channel: string, why: string): CorruptDataError {
  return new CorruptDataError(`a message on the cache bus is not one scaleout publishes (${why}); ignored`, {
    key: channel,
  });
}

/** The bus message for a write or delete of `keys` by instance `id`. */
export function keysMessage(id: string, keys: readonly string[]): string {
  return JSON.stringify({ i: id, k: keys });
}

/** The bus message for a clear of `prefix` by instance `id`. */
export function clearMessage(id: string, prefix: string): string {
  return JSON.stringify({ i: id, p: prefix });
}

/**
 * Reads a bus message. Anything another program published on the channel
 * (not JSON, another shape, non-string keys) comes back as a
 * {@link CorruptDataError} to report, never as a thrown error: one junk
 * message must not stop the subscriber. The message text is never echoed.
 */
export function parseBusMessage(message: string, channel: string): BusMessage | CorruptDataError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return corrupt(channel, `not JSON, ${message.length} chars`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return corrupt(channel, 'not an object');
  }
  const { i, k, p } = parsed as { i?: unknown; k?: unknown; p?: unknown };
  if (typeof i !== 'string') return corrupt(channel, 'no instance id');
  if (Array.isArray(k) && p === undefined) {
    if (k.length > MAX_KEYS) return corrupt(channel, `more than ${MAX_KEYS} keys`);
    for (const key of k) if (typeof key !== 'string') return corrupt(channel, 'a key that is not a string');
    return { i, k: k as string[] };
  }
  if (typeof p === 'string' && k === undefined) return { i, p };
  return corrupt(channel, 'neither keys nor a prefix');
}
