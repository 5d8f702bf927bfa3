import type { CacheState } from './state.js';
import { dataKey, dataPrefix } from './values.js';

/**
 * Removals: here (L1), in the adapter, then in every other instance's L1
 * through the bus. With the adapter down and `failOpen`, they are reported
 * as dropped and answer "nothing removed".
 */

/** `delete`: whether the adapter held the key. */
export async function removeOne(state: CacheState, full: string): Promise<boolean> {
  state.l1?.delete(full);
  try {
    const existed = await state.backend.call('delete', () => state.adapter.delete(dataKey(full)));
    state.bus.publishKeys([full]);
    return existed;
  } catch (err) {
    state.backend.failOpen('delete', full, err, true);
    return false;
  }
}

/** `deleteMany`: how many keys the adapter held. */
export async function removeMany(state: CacheState, full: readonly string[]): Promise<number> {
  for (const k of full) state.l1?.delete(k);
  if (full.length === 0) return 0;
  try {
    const count = await state.backend.call('deleteMany', () =>
      state.adapter.deleteMany(full.map((k) => dataKey(k))),
    );
    state.bus.publishKeys(full);
    return count;
  } catch (err) {
    state.backend.failOpen('deleteMany', undefined, err, true);
    return 0;
  }
}

/** `clear`: every key under `prefix` (a namespace; `''` for the whole cache). */
export async function removePrefix(state: CacheState, prefix: string): Promise<void> {
  state.bus.clearPrefix(prefix);
  try {
    await state.backend.call('clear', () => state.adapter.clear({ prefix: dataPrefix(prefix) }));
    state.bus.publishClear(prefix);
  } catch (err) {
    state.backend.failOpen('clear', undefined, err, true);
  }
}
