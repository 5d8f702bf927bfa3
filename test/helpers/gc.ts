import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Runs `fn` with a fresh object, the kind of store a request puts in an
 * AsyncLocalStorage, and returns a weak reference to it: the object is
 * reachable only from what `fn` (and whatever it started) kept.
 */
export async function weaklyHeld(fn: (store: object) => Promise<unknown>): Promise<WeakRef<object>> {
  const store = { request: 'scratch' };
  await fn(store);
  return new WeakRef(store);
}

/**
 * Collects garbage (a few rounds, letting timers and promise jobs run in
 * between) until `ref` is cleared: whether nothing kept its object alive.
 */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  return ref.deref() === undefined;
}
