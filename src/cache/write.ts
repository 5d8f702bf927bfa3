import { isDataError } from './backend.js';
import { decode } from './envelope.js';
import type { L1Entry } from './l1-bus.js';
import type { CacheState } from './state.js';
import { dataKey, type Prepared, prepare } from './values.js';

/**
 * Stores a value in L1 and (unless the adapter is down) the adapter, then
 * publishes the key to the other instances. With the adapter down and
 * `failOpen`, the write stays in L1 only and is reported as dropped.
 */
export async function write(
  state: CacheState,
  key: string,
  value: unknown,
  ttlMs: number,
  graceMs: number,
  delta: number,
): Promise<L1Entry> {
  const now = state.clock.now();
  const { text, entry, storeTtlMs } = prepare(state, value, ttlMs, graceMs, delta, now);
  state.bus.store(key, entry, now);
  try {
    await state.backend.call('set', () => state.adapter.set(dataKey(key), text, { ttlMs: storeTtlMs }));
    state.bus.publishKeys([key]);
  } catch (err) {
    // Not stored: unless failing open, L1 must not show the write either.
    if (!state.backend.failsOpen(err)) state.l1?.delete(key);
    state.backend.failOpen('set', key, err, true);
  }
  return entry;
}

/** One checked entry of `setMany`: its full key and prepared forms. */
export interface PreparedEntry extends Prepared {
  full: string;
}

/** `setMany`: every entry in L1, then one adapter round trip, then one publish. */
export async function writeMany(
  state: CacheState,
  prepared: readonly PreparedEntry[],
  now: number,
): Promise<void> {
  for (const p of prepared) state.bus.store(p.full, p.entry, now);
  if (prepared.length === 0) return;
  try {
    await state.backend.call('setMany', () =>
      state.adapter.setMany(
        prepared.map((p) => ({ key: dataKey(p.full), value: p.text, ttlMs: p.storeTtlMs })),
      ),
    );
    state.bus.publishKeys(prepared.map((p) => p.full));
  } catch (err) {
    if (!state.backend.failsOpen(err)) for (const p of prepared) state.l1?.delete(p.full);
    state.backend.failOpen('setMany', undefined, err, true);
  }
}

/**
 * `setNX`: stores only if the key holds no fresh value, the answer `get`
 * gives. A value past its TTL is free to take even while it is kept for
 * grace (`getOrSet` may still serve it stale): otherwise a cache-wide
 * `graceMs` would hold a `setNX` claim for `ttlMs + graceMs`.
 *
 * One `SET NX PX` when the key is free. When it is taken, the stored text
 * is read: a stale value of ours is removed only if it is still that exact
 * text (compare-and-delete) and the `SET NX` is tried once more, so that of
 * several callers racing for a stale key exactly one wins. A record
 * scaleout did not write never turns stale: the key stays taken. The
 * answer is the adapter's, so an unreachable adapter throws.
 */
export async function writeIfAbsent(
  state: CacheState,
  full: string,
  value: unknown,
  ttlMs: number,
  graceMs: number,
): Promise<boolean> {
  const now = state.clock.now();
  const { text, entry, storeTtlMs } = prepare(state, value, ttlMs, graceMs, 0, now);
  const key = dataKey(full);
  const setIfAbsent = () =>
    state.backend.call('setNX', () => state.adapter.setIfAbsent(key, text, { ttlMs: storeTtlMs }));
  let stored = await setIfAbsent();
  if (!stored) {
    let held: string | undefined;
    try {
      held = await state.backend.call('setNX', () => state.adapter.get(key));
    } catch (err) {
      // A key of another type: a record scaleout did not write holds the key.
      if (isDataError(err)) return false;
      throw err;
    }
    // Expired since the SET NX, or stale: take it (once; a loss then is a real one).
    if (held === undefined || decode(held).soft <= state.clock.now()) {
      if (held !== undefined) {
        await state.backend.call('setNX', () => state.adapter.deleteIfEquals(key, held));
      }
      stored = await setIfAbsent();
    }
  }
  if (stored) {
    state.bus.store(full, entry, now);
    state.bus.publishKeys([full]);
  }
  return stored;
}
