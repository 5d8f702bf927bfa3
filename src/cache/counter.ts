import { InvalidArgumentError, isScaleoutError } from '../errors.js';
import { decode } from './envelope.js';
import type { CacheState } from './state.js';
import { dataKey } from './values.js';

/**
 * `increment`: the adapter's atomic counter under the key's data key. The
 * key leaves L1 (a counter is read back with `get`, from the adapter), and
 * other instances drop it too. The answer is the adapter's, so an
 * unreachable adapter throws, whatever `failOpen` says.
 */
export async function increment(
  state: CacheState,
  full: string,
  by: number,
  ttlMs: number | undefined,
): Promise<number> {
  state.l1?.delete(full);
  let value: number;
  try {
    value = await state.backend.call('increment', () =>
      state.adapter.increment(dataKey(full), { by, ttlMs }),
    );
  } catch (err) {
    if (isScaleoutError(err, 'ERR_CORRUPT_DATA')) await explainNotACounter(state, full, err);
    throw err;
  }
  state.bus.publishKeys([full]);
  return value;
}

/**
 * A key written by `set()` holds a cache envelope, not a counter: the
 * design's `set(k, 5)` then `increment(k)` would be reported as foreign
 * data. Say what it is instead (a wrong call, not a damaged record).
 */
async function explainNotACounter(state: CacheState, full: string, cause: unknown): Promise<void> {
  const text = await state.adapter.get(dataKey(full)).catch(() => undefined);
  if (text === undefined) return;
  const decoded = decode(text);
  if (decoded.soft === Number.POSITIVE_INFINITY) return;
  try {
    state.serializer.deserialize(decoded.payload);
  } catch {
    return; // an envelope set() could not have written: foreign data after all
  }
  throw new InvalidArgumentError(
    'increment: this key holds a value written by set() or getOrSet(), not a counter; counters are created by increment() itself (start one with increment(key, n)) and read with get(); the value is unchanged',
    { argument: 'key', cause },
  );
}
