import type { L1Entry } from './l1-bus.js';
import type { CacheState } from './state.js';
import { dataKey, read } from './values.js';

/**
 * The adapter half of `get` (the L1 hit is answered by the facade without
 * an async frame): a fresh value from the adapter, or `undefined`. With the
 * adapter down (fail-open) the L1 entry `local` is served while within its
 * grace; a foreign record is a miss.
 */
export async function readOne<T>(
  state: CacheState,
  full: string,
  local: L1Entry | undefined,
  graceMs: number,
): Promise<T | undefined> {
  const backend = state.backend;
  let text: string | undefined;
  try {
    text = await backend.call('get', () => state.adapter.get(dataKey(full)));
  } catch (err) {
    if (backend.readAsMiss('get', full, err)) {
      if (state.events.has('miss')) state.events.emit('miss', { key: full });
      state.telemetry?.miss();
      return undefined;
    }
    backend.failOpen('get', full, err, false);
    if (local !== undefined && local.hard > state.clock.now()) {
      if (state.events.has('stale')) state.events.emit('stale', { key: full, reason: 'backend-down' });
      state.telemetry?.stale('backend-down');
      return local.value as T;
    }
    if (state.events.has('miss')) state.events.emit('miss', { key: full });
    state.telemetry?.miss();
    return undefined;
  }
  if (text !== undefined) {
    const now = state.clock.now();
    const entry = read(state, full, text, now, graceMs);
    if (entry !== undefined && entry.soft > now) {
      if (state.events.has('hit')) state.events.emit('hit', { key: full, tier: 'l2' });
      state.telemetry?.hit('l2');
      return entry.value as T;
    }
  }
  if (state.events.has('miss')) state.events.emit('miss', { key: full });
  state.telemetry?.miss();
  return undefined;
}

/**
 * `getMany`: L1 first, then one adapter round trip for the rest. Each key
 * is counted on the cache counters as `get` counts it (an L1 or L2 hit, or
 * a miss; with the adapter down, the keys L1 did not answer are misses).
 */
export async function readMany<T>(
  state: CacheState,
  full: readonly string[],
  graceMs: number,
): Promise<Array<T | undefined>> {
  const now = state.clock.now();
  const out: Array<T | undefined> = new Array(full.length);
  const missing: number[] = [];
  for (let i = 0; i < full.length; i++) {
    const entry = state.l1?.get(full[i]!);
    if (entry !== undefined && entry.soft > now) out[i] = entry.value as T;
    else missing.push(i);
  }
  const telemetry = state.telemetry;
  if (missing.length === 0) {
    telemetry?.many(full.length, 0, 0);
    return out;
  }
  const backend = state.backend;
  let texts: Array<string | undefined>;
  try {
    texts = await backend.call('getMany', () => state.adapter.getMany(missing.map((i) => dataKey(full[i]!))));
  } catch (err) {
    if (!backend.readAsMiss('getMany', undefined, err)) backend.failOpen('getMany', undefined, err, false);
    telemetry?.many(full.length - missing.length, 0, missing.length);
    return out;
  }
  const later = state.clock.now();
  let l2 = 0;
  for (let j = 0; j < missing.length; j++) {
    const text = texts[j];
    if (text === undefined) continue;
    const i = missing[j]!;
    const entry = read(state, full[i]!, text, later, graceMs);
    if (entry !== undefined && entry.soft > later) {
      out[i] = entry.value as T;
      l2++;
    }
  }
  telemetry?.many(full.length - missing.length, l2, missing.length - l2);
  return out;
}
